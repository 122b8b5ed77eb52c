"""Copy it under your own name: hello.py as app.py runs as `python app.py` and
`gunicorn app`, alone or beside hello.py, and its models take its name
(docs/your-own-project.md)."""

import shutil
import sys

import pytest
from support.extend import grown_copy, with_what_it_needs
from support.net import free_port
from support.project import CHECK_CLEAN, PRODUCTION, ROOT, environment, run_hello
from support.servers import Server, gunicorn_plain

# A hello.py beside the copy that would give itself away if the copy imported it.
IMPOSTOR = 'raise SystemExit("hello.py was imported")\n'


@pytest.fixture(params=["alone", "beside hello.py"])
def copy(request, tmp_path):
    """hello.py copied as app.py, alone in its folder or beside another hello.py."""
    shutil.copy(ROOT / "hello.py", tmp_path / "app.py")
    shutil.copy(ROOT / "gunicorn.conf.py", tmp_path)
    if request.param == "beside hello.py":
        (tmp_path / "hello.py").write_text(IMPOSTOR)
    return tmp_path


def test_a_renamed_copy_runs_its_commands_as_itself(copy):
    done = run_hello("check", cwd=copy, script="app.py")
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN), done.stderr
    code = "from django.conf import settings; print(settings.ROOT_URLCONF)"
    done = run_hello("shell", "-c", code, cwd=copy, script="app.py")
    assert done.stdout.splitlines()[-1:] == ["app"], done.stderr


def test_a_renamed_copy_runs_with_pythonsafepath_set(copy):
    done = run_hello("check", cwd=copy, script="app.py", PYTHONSAFEPATH="1")
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN), done.stderr


def test_a_renamed_copy_refuses_a_bad_value_naming_itself(copy):
    done = run_hello("check", cwd=copy, script="app.py", DEBUG="maybe")
    assert done.returncode == 4
    assert done.stderr == (
        "app.py: DEBUG='maybe' is refused; use on/off, true/false, 1/0 or yes/no\n"
    )


def test_a_renamed_copy_says_hello_world_under_runserver(copy):
    (copy / "app.py").write_text(
        (copy / "app.py").read_text().replace('"Hello World"', '"Hello from app"')
    )
    port = free_port()
    argv = [sys.executable, "app.py", "runserver", str(port), "--noreload"]
    server = Server(argv, environment(), cwd=copy)
    try:
        assert server.wait_until_serving(port)[::2] == (200, "Hello from app")
    finally:
        server.stop()


def test_a_renamed_copy_is_served_by_gunicorn_under_its_name(copy):
    port = free_port()
    with gunicorn_plain(port, app="app", cwd=copy, **PRODUCTION) as server:
        assert server.request(port, host="localhost")[::2] == (200, "Hello World")
        assert "Using worker: gthread" in server.output()


def test_a_renamed_copys_models_take_its_name(tmp_path):
    shutil.copy(ROOT / "hello.py", tmp_path / "app.py")
    (tmp_path / "hello.py").write_text(IMPOSTOR)
    project = grown_copy(
        tmp_path, name="app", recipes=with_what_it_needs("Your own models")
    )
    assert (project / "migrations" / "0001_initial.py").exists()
    assert "from app import Sprint, Task" in (project / "tests.py").read_text()
    code = (
        "from app import Sprint, Task; from django.conf import settings; "
        "print(Sprint._meta.label, Task._meta.db_table, settings.ROOT_URLCONF)"
    )
    done = run_hello("shell", "-c", code, cwd=project, script="app.py")
    assert done.stdout.splitlines()[-1:] == ["app.Sprint app_task app"], done.stderr
    done = run_hello("test", cwd=project, script="app.py", timeout=180)
    assert done.returncode == 0 and "Ran 6 tests" in done.stderr, done.stderr
    # Quiet: WhiteNoise finds no staticfiles/ before collectstatic, and says nothing.
    assert "Warning" not in done.stderr, done.stderr
