"""Grow it with models: the README's "Your own models" recipe in a grown copy, as its
users run it (`python hello.py`, `gunicorn hello`, `import hello`), on SQLite and on
PostgreSQL; its migrations, permissions, fixtures and tests; a fresh clone's first
commands; and the README's way "Out of one file", which keeps every row.
"""

import json
import shutil

import pytest
from support.extend import (
    docs_recipes,
    extended_copy,
    grown_copy,
    log_in,
    moved_out_of_one_file,
)
from support.net import free_port, request
from support.project import CHECK_CLEAN, PRODUCTION, run_hello
from support.servers import gunicorn_procfile_options

PROXIED = {"X-Forwarded-Proto": "https"}
SERVED = {**PRODUCTION, "HTTPS_ONLY": "on", "ALLOWED_HOSTS": "localhost"}


def run(project, *args, **config):
    done = run_hello(*args, cwd=project, timeout=180, **config)
    assert done.returncode == 0, done.stderr
    return done.stdout


def shell(project, code, **config):
    """`python hello.py shell -c CODE`: what it printed last."""
    return run(project, "shell", "-c", code, **config).strip().splitlines()[-1]


def new_database(server, name):
    server.query(f"CREATE DATABASE {name}")
    return server.url.rsplit("/", 1)[0] + f"/{name}"


# What the tests write before the models move, and read after.
ROWS = """
from django.contrib.auth.models import Permission, User
from hello import Sprint, Task

owner = User.objects.create_user(
    "owner", password="a-long-password-1234", is_staff=True
)
owner.user_permissions.add(Permission.objects.get(codename="add_sprint"))
sprint = Sprint.objects.create(name="First", end="2031-01-09")
Task.objects.create(name="Plan", sprint=sprint, assigned=owner, status=Task.Status.DONE)
"""

# Everything the label names, as PostgreSQL holds it.
LABELLED = {
    "rows": "SELECT s.name, s.end, t.name, t.status, u.username FROM hello_sprint s "
    "JOIN hello_task t ON t.sprint_id = s.id JOIN auth_user u ON t.assigned_id = u.id",
    "content types": "SELECT id, model FROM django_content_type "
    "WHERE app_label = 'hello' ORDER BY id",
    "permissions": "SELECT p.id, p.codename, p.content_type_id FROM auth_permission p "
    "JOIN django_content_type c ON p.content_type_id = c.id "
    "WHERE c.app_label = 'hello' ORDER BY p.id",
    "granted": "SELECT user_id, permission_id FROM auth_user_user_permissions",
    "migrations": "SELECT id, name FROM django_migrations WHERE app = 'hello'",
}


def sprints_page(port):
    """/sprints/ as the owner sees it, logged in at the admin's login page: the status
    and the page; and the status an anonymous visitor gets."""

    def send(path, **options):
        headers = {**PROXIED, **options.pop("headers", {})}
        return request(port, path, host="localhost", headers=headers, **options)

    anonymous = send("/sprints/")[0]
    owner = {"username": "owner", "password": "a-long-password-1234"}
    status, session = log_in(send, "https://localhost", **owner)
    assert status == 302, session
    status, _, page = send("/sprints/", headers={"Cookie": session.split(";")[0]})
    return status, page, anonymous


def labelled(database, name):
    return {what: database.query(sql, database=name) for what, sql in LABELLED.items()}


def test_the_models_migrate_as_hello_with_permissions_and_serve_under_gunicorn(
    database, tmp_path
):
    project = grown_copy(tmp_path)
    migrations = "".join(path.read_text() for path in project.glob("migrations/*.py"))
    assert "__main__" not in migrations
    config = {**SERVED, "DATABASE_URL": new_database(database, "served")}
    assert "Applying hello.0001_initial... OK" in run(project, "migrate", **config)
    run(project, "shell", "-c", ROWS, **config)
    found = labelled(database, "served")
    assert found["rows"] == "First|2031-01-09|Plan|4|owner"
    assert [row.split("|")[1] for row in found["content types"].split()] == [
        "sprint",
        "task",
    ]
    codenames = {row.split("|")[1] for row in found["permissions"].split()}
    assert codenames == {
        f"{action}_{model}"
        for action in ("add", "change", "delete", "view")
        for model in ("sprint", "task")
    }
    assert found["migrations"].endswith("|0001_initial")
    # One label however the file is loaded: imported by a program, as gunicorn does.
    code = "import hello; print(hello.Sprint._meta.label, hello.Task._meta.db_table)"
    imported = run_hello(code, cwd=project, script="-c", **config)
    assert imported.stdout.split() == ["hello.Sprint", "hello_task"], imported.stderr
    # The admin's login page names its stylesheets by their collected, hashed names.
    run(project, "collectstatic", "--noinput", **config)
    port = free_port()
    with gunicorn_procfile_options(port, cwd=project, **config):
        status, page, anonymous = sprints_page(port)
    assert status == 200 and "First, ending Jan. 9, 2031" in page
    assert anonymous == 302


# A default made by a function of the file's own, as Django's docs show for callables.
CALLABLE_DEFAULT = """
import secrets


def new_code():
    return secrets.token_hex(4)


class Ticket(models.Model):
    code = models.CharField(max_length=8, default=new_code)
"""


def test_a_callable_default_is_written_into_migrations_as_hello_and_runs(tmp_path):
    project = grown_copy(tmp_path, models=CALLABLE_DEFAULT)
    (migration,) = project.glob("migrations/0001_*.py")
    text = migration.read_text()
    assert "import hello\n" in text and "default=hello.new_code" in text
    assert "__main__" not in text
    run(project, "migrate")
    code = "from hello import Ticket; print(len(Ticket.objects.create().code))"
    assert shell(project, code) == "8"


def test_dumpdata_and_loaddata_round_trip_the_models(tmp_path):
    project = grown_copy(tmp_path)
    run(project, "migrate")
    run(project, "shell", "-c", ROWS)
    # The users too: a task names the one it is assigned to.
    dump = ["dumpdata", "auth.user", "hello", "--indent", "1"]
    dumped = run(project, *dump)
    objects = json.loads(dumped)
    assert [o["model"] for o in objects] == ["auth.user", "hello.sprint", "hello.task"]
    (project / "board.json").write_text(dumped)
    run(project, "flush", "--noinput")
    assert "Installed 3 object(s)" in run(project, "loaddata", "board.json")
    assert json.loads(run(project, *dump)) == objects


def test_the_readmes_tests_pass_before_and_after_the_first_migration(tmp_path):
    project = grown_copy(tmp_path)
    shutil.rmtree(project / "migrations")
    for moment in ("before", "after"):
        done = run_hello("test", cwd=project, timeout=180)
        assert done.returncode == 0, (moment, done.stderr)
        assert "Ran 6 tests" in done.stderr and "\nOK\n" in done.stderr, moment
        run(project, "makemigrations", "hello")


# What a test of the home page in a fresh clone asks: its stylesheet's URL.
HOME_TEST = """
from django.test import SimpleTestCase


class HomeTests(SimpleTestCase):
    def test_the_home_page_links_its_stylesheet(self):
        self.assertContains(self.client.get("/"), 'href="/static/site.css"')
"""


def test_in_a_fresh_clone_the_tests_run_before_any_collectstatic(tmp_path):
    project = grown_copy(tmp_path)
    (project / "test_home.py").write_text(HOME_TEST)
    assert not (project / "staticfiles").exists()
    done = run_hello("test", cwd=project, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Ran 7 tests" in done.stderr


@pytest.mark.parametrize("recipes", [2, None], ids=["static and database", "all"])
def test_a_fresh_clone_with_no_static_folder_yet_checks_clean(tmp_path, recipes):
    # git keeps no empty folder; a model with no DEFAULT_AUTO_FIELD would warn too.
    chosen = list(docs_recipes().values())[:recipes]
    project = extended_copy(
        tmp_path,
        settings="".join(recipe.settings for recipe in chosen),
        models="".join(recipe.models for recipe in chosen),
        code="".join(recipe.code for recipe in chosen),
    )
    for path, text in (p for recipe in chosen for p in recipe.files.items()):
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    done = run_hello("check", cwd=project)
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN), done.stderr


def test_moving_the_models_out_of_one_file_as_the_readme_says_keeps_everything(
    database, tmp_path
):
    project = grown_copy(tmp_path)
    config = {**SERVED, "DATABASE_URL": new_database(database, "moved")}
    run(project, "migrate", **config)
    run(project, "shell", "-c", ROWS, **config)
    before = labelled(database, "moved")
    app = moved_out_of_one_file(project)
    assert not (project / "migrations").exists()
    assert "class Sprint" in (project / app / "models.py").read_text()
    assert "No changes detected" in run(project, "makemigrations", "--check", **config)
    planned = run(project, "migrate", "--plan", **config)
    assert "No planned migration operations." in planned
    assert "No migrations to apply." in run(project, "migrate", **config)
    assert labelled(database, "moved") == before
    code = (
        "from django.contrib.auth.models import User; from hello import Sprint; "
        "print(User.objects.get(username='owner').has_perm('hello.add_sprint'), "
        "Sprint._meta.label, Sprint.__module__)"
    )
    assert shell(project, code, **config) == f"True hello.Sprint {app}.models"
    done = run_hello(
        "test", cwd=project, timeout=180, DATABASE_URL=config["DATABASE_URL"]
    )
    assert done.returncode == 0 and "Ran 6 tests" in done.stderr, done.stderr
    # The book's build command moved with the models, and still runs.
    built = run_hello("build", cwd=project, DATABASE_URL=config["DATABASE_URL"])
    assert (built.returncode, built.stdout) == (0, "/ -> build/index.html\n"), (
        built.stderr
    )
    # The admin's login page names its stylesheets by their collected, hashed names.
    run(project, "collectstatic", "--noinput", **config)
    port = free_port()
    with gunicorn_procfile_options(port, cwd=project, **config):
        status, page, _ = sprints_page(port)
        admin = request(port, "/admin/hello/sprint/", host="localhost", headers=PROXIED)
    assert status == 200 and "First, ending" in page
    assert admin[0] == 302 and "/admin/login/" in admin[1]["location"]
