"""hello.py extended the way its users extend it, for the tests and the benchmark."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

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
        cursor.execute("SELECT count(*) FROM sqlite_master")
        return HttpResponse(f"{cursor.fetchone()[0]} tables")


urlpatterns += [path("visits", visits)]
"""


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
