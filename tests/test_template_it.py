"""Start a project from it: project_name/ through the real `django-admin startproject`."""

import re
import shutil
import subprocess
import sys

import pytest
from support.extend import grown_copy, moved_out_of_one_file
from support.net import free_port
from support.project import (
    BIN,
    CHECK_CLEAN,
    PRODUCTION,
    ROOT,
    STRONG_KEY,
    environment,
    run_hello,
)
from support.servers import Server, honcho_procfile, uv_runserver_answer
from write_template import BOOK, DEVELOPMENT_KEY, HEAD, TAIL, VERSION, readme_sections

README_COMMAND = re.search(
    r"(?m)^(django-admin startproject mysite .*)$",
    (ROOT / "docs" / "your-own-project.md").read_text(),
)[1]
GENERATED = {
    ".gitignore",
    "tests.py",
    "mysite.py",
    "requirements.txt",
    "Procfile",
    "gunicorn.conf.py",
    "README.md",
    ".python-version",
}


def startproject(cwd, name="mysite", *target, template=ROOT / "project_name"):
    """The README's command, with this checkout's template and the given name and target."""
    words = README_COMMAND.split()
    words[words.index("mysite")] = name
    words = [
        f"--template={template}" if w.startswith("--template=") else w for w in words
    ]
    argv = [str(BIN / "django-admin"), *words[1:3], *target, *words[3:]]
    return subprocess.run(
        argv,
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_project(directory, *args, **config):
    return run_hello(*args, cwd=directory, script="mysite.py", **config)


@pytest.fixture(scope="module")
def mysite(tmp_path_factory):
    """A project made by the README's command, as a new user would."""
    cwd = tmp_path_factory.mktemp("new")
    done = startproject(cwd)
    assert (done.returncode, done.stderr) == (0, "")
    return cwd / "mysite"


def test_the_readme_command_makes_the_whole_project(mysite):
    assert {path.name for path in mysite.iterdir()} == GENERATED
    for name in GENERATED:
        text = (mysite / name).read_text()
        assert "project_name" not in text and "templatetag" not in text, name
        if name != "README.md":  # whose recipes show Django's template tags
            assert "{{" not in text and "{%" not in text, name
    assert (mysite / "Procfile").read_text() == "web: exec gunicorn mysite\n"
    readme = (mysite / "README.md").read_text()
    assert readme.startswith("# mysite\n") and "python mysite.py runserver" in readme
    assert "hello" not in (mysite / "mysite.py").read_text()


def test_the_new_project_is_its_users_own_and_its_readme_is_short(mysite):
    code, readme = (
        (mysite / "mysite.py").read_text(),
        (mysite / "README.md").read_text(),
    )
    # One line says which template made it, and where its tests and recipes are.
    made_by = re.search(
        r"(?m)^Made by `django-admin startproject` from the hello .*\n.*\n", readme
    )[0]
    assert f"version {VERSION}." in made_by and "tests/README.md" in made_by
    assert "docs/" in made_by
    # The one other sentence that names the template's pages in the template's words.
    pointer = "write `mysite` where a page writes `hello`."
    assert pointer in readme
    readme = readme.replace(made_by, "").replace(pointer, "")
    for trace in ("Lightweight Django", "the book", "hello", "tests/", "A+"):
        assert trace not in code and trace not in readme, trace
    headings = re.findall(r"(?m)^## (.+)$", readme)
    assert headings == ["Run it", "Test it", "Configure it", "Deploy it", "Grow it"]
    # Short, and it repeats no recipe: the recipes are the template's docs/ pages.
    assert len(readme.splitlines()) <= 80 and "```python" not in readme
    for page in ("platforms.md", "own-server.md", "models.md", "api.md"):
        assert page in readme and (ROOT / "docs" / page).exists(), page
    assert ".venv/" in (mysite / ".gitignore").read_text().split()


def test_the_new_project_checks_clean_and_deploy_checks_clean_in_production(mysite):
    done = run_project(mysite, "check")
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN)
    done = run_project(
        mysite,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        HTTPS_ONLY="on",
        **PRODUCTION,
    )
    clean = "System check identified no issues (1 silenced)."
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, clean, "")


def test_the_new_project_refuses_bad_values_naming_itself(mysite):
    done = run_project(mysite, "check", DEBUG="maybe")
    assert done.returncode == 4
    assert (
        done.stderr
        == "mysite.py: DEBUG='maybe' is refused; use on/off, true/false, 1/0 or yes/no\n"
    )
    assert run_project(mysite, "check", DEBUG="off").stderr.startswith(
        "mysite.py: SECRET_KEY=<0 characters, 0 distinct> is refused;"
    )


def test_the_new_project_says_hello_world_under_runserver_and_gunicorn(mysite):
    port = free_port()
    server = Server(
        [sys.executable, "mysite.py", "runserver", str(port), "--noreload"],
        environment(),
        cwd=mysite,
    )
    try:
        assert server.wait_until_serving(port)[::2] == (200, "Hello World")
    finally:
        server.stop()
    port = free_port()
    argv = [
        str(BIN / "gunicorn"),
        "mysite",
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
    ]
    server = Server(argv, environment(**PRODUCTION), cwd=mysite)
    try:
        assert server.wait_until_serving(port, host="localhost")[::2] == (
            200,
            "Hello World",
        )
    finally:
        server.stop()


def test_the_new_projects_procfile_serves_in_production(mysite):
    port = free_port()
    with honcho_procfile(port, procfile_dir=mysite, SECRET_KEY=STRONG_KEY) as server:
        assert server.request(port, address="::1", host="[::1]")[::2] == (
            200,
            "Hello World",
        )
        assert "Using worker: gthread" in server.output()


def test_the_template_renders_exactly_the_shipped_project_under_the_name_hello(
    tmp_path,
):
    done = startproject(tmp_path, "hello")
    assert done.returncode == 0, done.stderr
    for name in (
        "hello.py",
        "gunicorn.conf.py",
        "requirements.txt",
        "Procfile",
        ".python-version",
    ):
        generated = DEVELOPMENT_KEY.sub("KEY", (tmp_path / "hello" / name).read_text())
        shipped = DEVELOPMENT_KEY.sub("KEY", BOOK.sub("", (ROOT / name).read_text()))
        assert generated == shipped, (
            f"project_name/ and {name} have drifted apart: run `python tests/write_template.py`"
        )
    readme = (ROOT / "project_name" / "README.md").read_text()
    assert readme == HEAD + readme_sections() + TAIL, (
        "project_name/README.md and README.md have drifted apart: run "
        "`python tests/write_template.py`"
    )


def development_key(project):
    return DEVELOPMENT_KEY.search((project / "mysite.py").read_text())[0].strip('"')


def test_each_new_project_gets_its_own_development_key(mysite, tmp_path):
    assert startproject(tmp_path).returncode == 0
    first, second = development_key(mysite), development_key(tmp_path / "mysite")
    assert first != second
    for key in (first, second):
        assert key.startswith("django-insecure-") and len(key) >= 66
        assert key.count("django-insecure-") == 1, key
    assert (
        run_project(
            mysite,
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SECRET_KEY)",
        ).stdout.split()[-1]
        == first
    )


def test_any_character_django_may_put_in_a_key_leaves_the_file_valid(tmp_path):
    from django.template import Context, Engine

    key = "django-insecure-" + "$#@()%^&*!=+-_" * 4
    text = (ROOT / "project_name" / "project_name.py-tpl").read_text()
    rendered = (
        Engine()
        .from_string(text)
        .render(
            Context({"project_name": "mysite", "secret_key": key}, autoescape=False)
        )
    )
    (tmp_path / "mysite.py").write_text(rendered)
    done = run_project(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
    )
    assert done.stdout.split()[-1] == key, done.stderr


def test_a_target_directory_that_exists_works_on_every_django(tmp_path):
    (tmp_path / "site").mkdir()
    done = startproject(tmp_path, "mysite", "site")
    assert done.returncode == 0, done.stderr
    assert {path.name for path in (tmp_path / "site").iterdir()} == GENERATED


def test_a_zip_of_the_template_folder_works_too(tmp_path):
    archive = shutil.make_archive(
        str(tmp_path / "project_name"), "zip", ROOT, "project_name"
    )
    (tmp_path / "out").mkdir()
    done = startproject(tmp_path / "out", template=archive)
    assert done.returncode == 0, done.stderr
    assert {path.name for path in (tmp_path / "out" / "mysite").iterdir()} == GENERATED
    assert (
        run_project(tmp_path / "out" / "mysite", "check").stdout.strip() == CHECK_CLEAN
    )


@pytest.mark.parametrize(
    "name, error",
    [
        (
            "my-site",
            "CommandError: 'my-site' is not a valid project name. Please make sure the name is a valid identifier.",
        ),
        (
            "os",
            "CommandError: 'os' conflicts with the name of an existing Python module and cannot be used as a project name.",
        ),
    ],
)
def test_a_bad_project_name_gets_djangos_own_error(tmp_path, name, error):
    done = startproject(tmp_path, name)
    assert done.returncode == 1
    assert done.stderr.startswith(error)
    assert list(tmp_path.iterdir()) == []


def test_a_target_already_holding_the_project_file_is_left_untouched(tmp_path):
    (tmp_path / "site").mkdir()
    existing = tmp_path / "site" / "mysite.py"
    existing.write_text("# my work\n")
    done = startproject(tmp_path, "mysite", "site")
    assert done.returncode == 1
    assert "mysite.py already exists" in done.stderr and done.stderr.startswith(
        "CommandError:"
    )
    assert existing.read_text() == "# my work\n"


def test_the_new_project_runs_from_its_own_file_with_uv(mysite):
    assert uv_runserver_answer(mysite, "mysite.py") == (200, "Hello World")


def test_the_new_project_tests_itself_with_djangos_own_runner(mysite):
    done = run_project(mysite, "test")
    assert done.returncode == 0, done.stderr
    assert "Ran 6 tests" in done.stderr and done.stderr.rstrip().endswith("OK")
    # A passing run is quiet: the refused Host a test expects is no traceback.
    assert "Traceback" not in done.stderr and " ERROR " not in done.stderr, done.stderr


def test_the_new_projects_tests_fail_when_its_page_breaks(mysite, tmp_path):
    broken = shutil.copytree(mysite, tmp_path / "broken")
    code = (broken / "mysite.py").read_text()
    (broken / "mysite.py").write_text(code.replace('"Hello World"', '"Hello"'))
    done = run_project(broken, "test")
    assert done.returncode == 1
    assert "FAILED (failures=1)" in done.stderr, done.stderr


def test_the_new_project_ignores_what_its_recipes_make(mysite):
    ignored = (mysite / ".gitignore").read_text().split()
    made = {"db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "staticfiles/"}
    made |= {"media/", "build/", ".venv/", "__pycache__/"}
    assert made <= set(ignored)


# What the label names in the new project's database, read through its own ORM.
LABELLED = """
import json
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.migrations.recorder import MigrationRecorder
from mysite import Sprint, Task

print(json.dumps([
    list(ContentType.objects.filter(app_label="mysite").values_list("id", "model")),
    list(Permission.objects.filter(content_type__app_label="mysite").values_list("id", "codename")),
    list(MigrationRecorder.Migration.objects.filter(app="mysite").values_list("id", "name")),
    list(Task.objects.values_list("name", "sprint__name", "sprint__end")),
], default=str))
"""


def test_the_new_project_grows_models_and_moves_them_out_keeping_every_row(
    mysite, tmp_path
):
    project = grown_copy(shutil.copytree(mysite, tmp_path / "mysite"), name="mysite")
    assert run_project(project, "migrate").returncode == 0
    rows = (
        "from mysite import Sprint, Task; Task.objects.create(name='Plan', "
        "sprint=Sprint.objects.create(name='One', end='2031-01-09'))"
    )
    assert run_project(project, "shell", "-c", rows).returncode == 0
    before = run_project(project, "shell", "-c", LABELLED).stdout.splitlines()[-1]
    assert '"Plan", "One", "2031-01-09"' in before and "add_sprint" in before
    app = moved_out_of_one_file(project, name="mysite")
    assert 'label = "mysite"' in (project / app / "apps.py").read_text()
    planned = run_project(project, "migrate", "--plan")
    assert "No planned migration operations." in planned.stdout, planned.stderr
    after = run_project(project, "shell", "-c", LABELLED).stdout.splitlines()[-1]
    assert after == before
    tested = run_project(project, "test")
    assert tested.returncode == 0 and "Ran 12 tests" in tested.stderr, tested.stderr
