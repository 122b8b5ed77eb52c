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

SETTINGS_PLACE = "# Before settings.configure():"
CODE_PLACE = "# Before application = get_wsgi_application():"


def extended_copy(directory, settings="", code=""):
    """A copy of hello.py in `directory`, extended as its users extend it: `settings`
    (UPPER_CASE assignments) before Django is configured, `code` (views,
    `urlpatterns +=`) before the WSGI application is made."""
    text = (ROOT / "hello.py").read_text()
    configure = "\n# Guarded: `python hello.py` runs this file as __main__"
    application = "\napplication = get_wsgi_application()"
    for anchor in (configure, application):
        assert text.count(anchor) == 1, f"hello.py has no single {anchor!r}"
    text = text.replace(configure, settings + configure)
    text = text.replace(application, code + application)
    (directory / "hello.py").write_text(text)
    return directory


def readme_recipes():
    """The README's "Grow it" recipes, in its order: {title: (settings, code)}, each the
    Python blocks that the README says go before settings.configure() or before the
    WSGI application."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"(?ms)^## Grow it$(.*?)(?=^## )", readme)[1]
    recipes = {}
    for title, body in re.findall(r"(?ms)^### (.+?)$(.*?)(?=^### |\Z)", section):
        places = {SETTINGS_PLACE: "", CODE_PLACE: ""}
        for block in re.findall(r"(?ms)^```python\n(.*?)^```$", body):
            place, _, python = block.partition("\n")
            assert place in places, f"README: Grow it, {title}: {place!r}"
            places[place] += f"\n{python}"
        recipes[title] = (places[SETTINGS_PLACE], places[CODE_PLACE])
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
