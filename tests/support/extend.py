"""hello.py extended the way its users extend it, for the tests and the benchmark."""

import re
import shutil
from pathlib import Path

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

# The two places hello.py marks for what README.md: Grow it adds, and the first line
# of each of the README's Python blocks, saying which place it goes to.
SETTINGS_PLACE = "# README.md: Grow it. A recipe's settings go here"
CODE_PLACE = "# README.md: Grow it. A recipe's views and URLs go here."
BLOCKS = {"# Settings": SETTINGS_PLACE, "# Views and URLs": CODE_PLACE}


def extended_copy(directory, settings="", code="", source=None):
    """A copy of hello.py (or the text `source`) in `directory`, extended as its users
    extend it: `settings` at the place hello.py marks for them, `code` (views,
    `urlpatterns +=`) at the place marked for those."""
    text = source if source is not None else (ROOT / "hello.py").read_text()
    for place, addition in ((SETTINGS_PLACE, settings), (CODE_PLACE, code)):
        lines = [line for line in text.splitlines() if line.startswith(place)]
        assert len(lines) == 1, f"hello.py has no single line {place!r}"
        text = text.replace(lines[0], f"{lines[0]}\n{addition}")
    (directory / "hello.py").write_text(text)
    return directory


def readme_recipes():
    """The README's recipes ("Grow it", "More than one instance"), in its order:
    {title: (settings, code)}, each the Python blocks headed `# Settings` and
    `# Views and URLs`, joined."""
    readme = (ROOT / "README.md").read_text()
    sections = re.findall(
        r"(?ms)^## (?:Grow it|More than one instance)$(.*?)(?=^## )", readme
    )
    section = "".join(sections)
    recipes = {}
    for title, body in re.findall(r"(?ms)^### (.+?)$(.*?)(?=^### |\Z)", section):
        places = dict.fromkeys(BLOCKS, "")
        for block in re.findall(r"(?ms)^```python\n(.*?)^```$", body):
            place, _, python = block.partition("\n")
            assert place in places, f"README: Grow it, {title}: {place!r}"
            places[place] += f"\n{python}"
        recipes[title] = tuple(places.values())
    return recipes


def grown_copy(directory, code=""):
    """A copy of hello.py grown by every README recipe, then `code`, in `directory`,
    with chapter 2's placeholder-image service, its templates and static files."""
    recipes = readme_recipes().values()
    settings = "".join(settings for settings, _ in recipes)
    chapter_2 = (GROWN / "placeholder.py").read_text()
    code = chapter_2 + "".join(code for _, code in recipes) + code
    for folder in ("templates", "static"):
        shutil.copytree(GROWN / folder, directory / folder)
    return extended_copy(directory, settings=settings, code=code)
