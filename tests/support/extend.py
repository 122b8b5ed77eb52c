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


def log_in(
    send, origin, password=ADMIN["password"], username=ADMIN["username"], **options
):
    """The admin's login form, filled in and sent with `send`: (status, cookies)."""
    status, headers, page = send("/admin/login/", **options)
    assert status == 200, page
    csrf = headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = f"csrfmiddlewaretoken={token}&username={username}"
    form += f"&password={password}&next=/admin/"
    headers = {
        **options.pop("headers", {}),
        "Cookie": csrf,
        "Origin": origin,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status, answer, _ = send(
        "/admin/login/", method="POST", body=form, headers=headers, **options
    )
    return status, answer.get("set-cookie", "")


# The places hello.py marks for what the recipes in docs/ add, and the first line of
# each of their Python blocks, saying which place it goes to.
SETTINGS_PLACE = "# docs/: a recipe's settings go here"
MODELS_PLACE = "# docs/: a recipe's models, forms and admin registrations"
CODE_PLACE = "# docs/: a recipe's views and URLs go here."
BLOCKS = {
    "# Settings": SETTINGS_PLACE,
    "# Models": MODELS_PLACE,
    "# Views and URLs": CODE_PLACE,
}


class Recipe(typing.NamedTuple):
    """A recipe's page in docs/: its Python for each marked place, its other files,
    and the recipes it says it needs first."""

    settings: str
    models: str
    code: str
    # {path beside hello.py: text}, from blocks whose first line names the file:
    # `{# templates/page.html #}`, `# tests.py`.
    files: dict
    # The titles of the recipes its "After:" line names, in that line's order.
    needs: tuple
    page: Path
    # {first line: Python}, from settings blocks a user may add to the recipe's own,
    # such as `# Settings, to let the admin's permissions decide`.
    variants: dict


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
    # A user's copy has the project's gunicorn options beside it, as the template's does.
    if not (directory / "gunicorn.conf.py").exists():
        shutil.copy(ROOT / "gunicorn.conf.py", directory)
    return directory


def recipe_pages(readme=ROOT / "README.md"):
    """The recipes' pages, in the order the README's "Grow it" lists them."""
    section = re.search(r"(?ms)^## Grow it$(.*?)(?=^## )", readme.read_text())[1]
    return [
        ROOT / page
        for page in re.findall(r"(?m)^\d+\. \[.+?\]\((docs/\S+)\)$", section)
    ]


def read_recipe(page):
    """One recipe's page: its title and its Recipe."""
    text = page.read_text()
    title = re.match(r"# (.+)\n", text)[1]
    after = re.search(r"(?m)^After: (.+)$", text)[1]
    needs = {}
    for linked in re.findall(r"\(([\w-]+\.md)\)", after):
        needs[re.match(r"# (.+)\n", (page.parent / linked).read_text())[1]] = None
    places, files, variants = dict.fromkeys(BLOCKS, ""), {}, {}
    for kind, block in re.findall(r"(?ms)^```(\w+)\n(.*?)^```$", text):
        first, _, rest = block.partition("\n")
        if found := re.fullmatch(r"\{# (\S+) #\}|# (\S+\.py)", first):
            files[found[1] or found[2]] = block
        elif first.startswith("# Settings, "):
            variants[first] = f"\n{rest}"
        elif kind == "python":
            assert first in places, f"{page.name}: {first!r}"
            places[first] += f"\n{rest}"
    recipe = Recipe(*places.values(), files, tuple(needs), page, variants)
    return title, recipe


def docs_recipes():
    """The recipes in docs/, in the README's order: {title: Recipe}."""
    return dict(read_recipe(page) for page in recipe_pages())


def with_what_it_needs(title, recipes=None):
    """The titles of the recipe `title` and of every recipe it needs, in the README's
    order: what a user applies who wants that recipe alone."""
    recipes = recipes or docs_recipes()
    wanted, stack = set(), [title]
    while stack:
        if (current := stack.pop()) not in wanted:
            wanted.add(current)
            stack.extend(recipes[current].needs)
    return [name for name in recipes if name in wanted]


def grown_copy(directory, code="", models="", name="hello", recipes=None, settings=""):
    """hello.py grown in `directory` by the recipes in docs/ (every one, or the titles
    `recipes`), then `models` and `code`; grown by every one, it also has chapter 2's
    placeholder-image service, its templates and static files. With models, it has the
    first migration, made as the models page says. With another `name`, `directory`
    holds a project made from the template, and the pages' `hello` is that name."""
    everything = docs_recipes()
    chosen = [everything[title] for title in (recipes or everything)]
    chapter_2 = ""
    if name == "hello" and recipes is None:
        chapter_2 = (GROWN / "placeholder.py").read_text()
        for folder in ("templates", "static"):
            shutil.copytree(GROWN / folder, directory / folder)
    for recipe in chosen:
        for path, text in recipe.files.items():
            (directory / path).parent.mkdir(parents=True, exist_ok=True)
            # A project made from the template has its tests.py: they are added to it.
            with (directory / path).open("a") as file:
                file.write(re.sub(r"\bhello\b", name, text))
    source = None if name == "hello" else (directory / f"{name}.py").read_text()
    extended_copy(
        directory,
        settings="".join(recipe.settings for recipe in chosen) + settings,
        models="".join(recipe.models for recipe in chosen) + models,
        code=chapter_2 + "".join(recipe.code for recipe in chosen) + code,
        source=source,
        name=name,
    )
    if any(recipe.models for recipe in chosen):
        made = run_hello(
            "makemigrations", name, cwd=directory, script=f"{name}.py", timeout=120
        )
        assert made.returncode == 0, made.stderr
    # makemigrations opened the SQLite file to check the history; git ignores it, so
    # nothing built from the repository has it.
    (directory / "db.sqlite3").unlink(missing_ok=True)
    return directory


def moved_out_of_one_file(directory, name="hello"):
    """docs/out-of-one-file.md, step by step, in a grown copy in `directory`: its
    commands run, its files written, its edits made to NAME.py, with the page's `hello`
    as `name`. The app's name."""
    steps = (ROOT / "docs" / "out-of-one-file.md").read_text()
    steps = re.sub(r"\bhello\b", name, steps)
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
    # 2. The migrations (and 6, the commands, where the copy has any).
    migrations, commands = [block for kind, block in blocks if kind == "sh"]
    subprocess.run(["sh", "-c", migrations], cwd=directory, check=True)
    if (directory / "management").is_dir():
        subprocess.run(["sh", "-c", commands], cwd=directory, check=True)
    # 3 and 4. The model classes, below the imports the README names, and in their
    # place in NAME.py the import the README gives.
    listed = re.search(r"below the imports they use: (.+?)\.\n", steps)[1]
    imports = re.findall(r"`((?:import|from) [^`]+)`", listed)
    text = script.read_text()
    classes = [
        ast.get_source_segment(text, node)
        for node in ast.parse(text).body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base) == "models.Model" for base in node.bases)
    ]
    header = "\n".join(imports)
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
