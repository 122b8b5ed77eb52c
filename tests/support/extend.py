"""hello.py extended the way its users extend it, for the tests and the benchmark."""

import ast
import re
import shutil
import subprocess
import typing
from pathlib import Path

from support.project import run_hello

ROOT = Path(__file__).resolve().parents[2]
GROWN = Path(__file__).resolve().parent / "grown"

DATABASE = """
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"},
}
"""

# Two queries with a pause between them, as a view waiting on an API or a slow query does.
VIEW_THAT_WAITS = """
import time

from django.db import connection


def visits(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        time.sleep(0.05)
        cursor.execute("SELECT %s", [2])
        return HttpResponse(f"{cursor.fetchone()[0]} queries")


urlpatterns += [path("visits", visits)]
"""

# The administrator the grown copies' tests make, as `createsuperuser` does in a
# release step or a one-off: its arguments, and the environment giving its password.
ADMIN = {"username": "admin", "password": "a-password-for-the-tests-1234"}
CREATE_ADMIN = ["createsuperuser", "--noinput", "--username", ADMIN["username"]]
CREATE_ADMIN += ["--email", "admin@example.com"]
ADMIN_PASSWORD = {"DJANGO_SUPERUSER_PASSWORD": ADMIN["password"]}

# The places hello.py marks for what README.md: Grow it adds, and the first line of
# each of the README's Python blocks, saying which place it goes to.
SETTINGS_PLACE = "# README.md: Grow it. A recipe's settings go here"
MODELS_PLACE = "# README.md: Grow it. A recipe's models, forms and admin registrations"
CODE_PLACE = "# README.md: Grow it. A recipe's views and URLs go here."
BLOCKS = {
    "# Settings": SETTINGS_PLACE,
    "# Models": MODELS_PLACE,
    "# Views and URLs": CODE_PLACE,
}


class Recipe(typing.NamedTuple):
    """A README recipe's Python for each marked place, and its other files."""

    settings: str
    models: str
    code: str
    # {path beside hello.py: text}, from blocks whose first line names the file:
    # `{# templates/page.html #}`, `# tests.py`.
    files: dict


def extended_copy(
    directory, settings="", code="", source=None, models="", name="hello"
):
    """A copy of hello.py (or the text `source`) in `directory` as NAME.py, extended as
    its users extend it: `settings`, `models` and `code` (views, `urlpatterns +=`) each
    at the place hello.py marks for them."""
    text = source if source is not None else (ROOT / "hello.py").read_text()
    additions = (settings, models, code)
    for place, addition in zip(BLOCKS.values(), additions, strict=True):
        lines = [line for line in text.splitlines() if line.startswith(place)]
        assert len(lines) == 1, f"hello.py has no single line {place!r}"
        text = text.replace(lines[0], f"{lines[0]}\n{addition}")
    (directory / f"{name}.py").write_text(text)
    return directory


def readme_recipes(readme=ROOT / "README.md"):
    """The README's recipes ("Grow it", "More than one instance"), in its order:
    {title: Recipe}, each place's Python the blocks headed for it, joined."""
    sections = re.findall(
        r"(?ms)^## (?:Grow it|More than one instance)$(.*?)(?=^## )", readme.read_text()
    )
    section = "".join(sections)
    recipes = {}
    for title, body in re.findall(r"(?ms)^### (.+?)$(.*?)(?=^### |\Z)", section):
        places, files = dict.fromkeys(BLOCKS, ""), {}
        for kind, block in re.findall(r"(?ms)^```(\w+)\n(.*?)^```$", body):
            first, _, rest = block.partition("\n")
            if name := re.fullmatch(r"\{# (\S+) #\}|# (\S+\.py)", first):
                files[name[1] or name[2]] = block
            elif kind == "python":
                assert first in places, f"README: Grow it, {title}: {first!r}"
                places[first] += f"\n{rest}"
        recipes[title] = Recipe(*places.values(), files=files)
    return recipes


def grown_copy(directory, code="", models="", name="hello"):
    """hello.py grown in `directory` by every README recipe, then `models` and `code`,
    with chapter 2's placeholder-image service, its templates and static files, and
    the first migration of its models, made as the README says. With another `name`,
    `directory` holds a project made from the template, grown by its own README alone."""
    readme = ROOT / "README.md" if name == "hello" else directory / "README.md"
    source = None if name == "hello" else (directory / f"{name}.py").read_text()
    recipes = readme_recipes(readme).values()
    chapter_2 = ""
    if name == "hello":
        chapter_2 = (GROWN / "placeholder.py").read_text()
        for folder in ("templates", "static"):
            shutil.copytree(GROWN / folder, directory / folder)
    for recipe in recipes:
        for path, text in recipe.files.items():
            (directory / path).parent.mkdir(parents=True, exist_ok=True)
            # A project made from the template has its tests.py: they are added to it.
            with (directory / path).open("a") as file:
                file.write(text)
    extended_copy(
        directory,
        settings="".join(recipe.settings for recipe in recipes),
        models="".join(recipe.models for recipe in recipes) + models,
        code=chapter_2 + "".join(recipe.code for recipe in recipes) + code,
        source=source,
        name=name,
    )
    made = run_hello(
        "makemigrations", name, cwd=directory, script=f"{name}.py", timeout=120
    )
    assert made.returncode == 0, made.stderr
    # makemigrations opened the SQLite file to check the history; git ignores it, so
    # nothing built from the repository has it.
    (directory / "db.sqlite3").unlink(missing_ok=True)
    return directory


def moved_out_of_one_file(directory, name="hello"):
    """The README's "Out of one file", step by step, in a grown copy in `directory`:
    its commands run, its files written, its edits made to NAME.py. The app's name."""
    readme = ROOT / "README.md" if name == "hello" else directory / "README.md"
    steps = re.search(r"(?ms)^## Out of one file$(.*?)(?=^## )", readme.read_text())[1]
    blocks = re.findall(r"(?ms)^```(\w+)\n(.*?)^```$", steps)
    script = directory / f"{name}.py"
    # 1. The app, and its apps.py keeping the label.
    command = re.search(rf"`python {name}\.py (startapp (\w+))`", steps)
    app = command[2]
    done = run_hello(*command[1].split(), cwd=directory, script=script.name)
    assert done.returncode == 0, done.stderr
    for kind, block in blocks:
        first = block.partition("\n")[0]
        if kind == "python" and first.startswith(f"# {app}/"):
            (directory / first[2:]).write_text(block)
    # 2. The migrations.
    (shell,) = [block for kind, block in blocks if kind == "sh"]
    subprocess.run(["sh", "-c", shell], cwd=directory, check=True)
    # 3 and 4. The model classes, below the imports the README names, and in their
    # place in NAME.py the import the README gives.
    imports = re.search(r"below (`from .+?`) and (`from .+?`)", steps).groups()
    text = script.read_text()
    classes = [
        ast.get_source_segment(text, node)
        for node in ast.parse(text).body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base) == "models.Model" for base in node.bases)
    ]
    header = "\n".join(line.strip("`") for line in imports)
    models = "\n\n\n".join([header, *classes])
    (directory / app / "models.py").write_text(models + "\n")
    (instead,) = [
        block.strip()
        for kind, block in blocks
        if kind == "python" and block.startswith(f"from {app}.models import")
    ]
    text = text.replace(classes[0], instead)
    for moved in classes[1:]:
        text = text.replace(moved, "")
    text = re.sub(r"(?m)^admin\.site\.register\(.*\)\n", "", text)
    # 5. The settings that made the file an app, replaced.
    first, last = re.search(r"from (`.+?`) to (`.+?`), with", steps).groups()
    start, end = text.index(first.strip("`")), text.index(last.strip("`"))
    (replacement,) = [
        block.strip()
        for kind, block in blocks
        if kind == "python" and block.startswith("INSTALLED_APPS")
    ]
    text = text[:start] + replacement + text[end + len(last.strip("`")) :]
    script.write_text(text)
    return app
