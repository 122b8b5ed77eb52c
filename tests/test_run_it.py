"""Run it: the commands a newcomer types first, as real processes speaking HTTP."""

import ast
import re
import shutil
import subprocess
import sys

import pytest
from support.net import free_port, request
from support.project import (
    BIN,
    CHECK_CLEAN,
    PRODUCTION,
    ROOT,
    STRONG_KEY,
    environment,
    run_hello,
)
from support.servers import (
    Server,
    gunicorn_argv,
    gunicorn_plain,
    serving,
    uv_runserver_answer,
)


def runserver(*args, **config):
    return Server(
        [sys.executable, "hello.py", "runserver", *args], environment(**config)
    )


def test_runserver_says_hello_world_at_the_url_it_prints():
    server = runserver(str(free_port()))
    try:
        url = server.wait_for_output(
            r"Starting (?:WSGI )?development server at http://127\.0\.0\.1:(\d+)/"
        )
        server.wait_until_serving(int(url[1]))
        status, headers, body = request(int(url[1]))
        assert (status, body) == (200, "Hello World")
        assert headers["content-type"] == "text/html; charset=utf-8"
    finally:
        server.stop()


def test_runserver_on_ipv6_loopback_answers_the_url_it_prints():
    server = runserver("-6", str(free_port()))
    try:
        url = server.wait_for_output(
            r"Starting (?:WSGI )?development server at http://\[::1\]:(\d+)/"
        )
        port = int(url[1])
        status, _, body = server.wait_until_serving(
            port, address="::1", host=f"[::1]:{port}"
        )
        assert (status, body) == (200, "Hello World")
    finally:
        server.stop()


def test_runserver_with_debug_off_serves_as_the_book_shows():
    port = free_port()
    server = runserver(str(port), "--noreload", **PRODUCTION)
    try:
        status, _, body = server.wait_until_serving(port)
        assert (status, body) == (200, "Hello World")
        assert request(port, "/missing")[0] == 404
    finally:
        server.stop()


def test_runserver_answers_the_health_check_without_a_database():
    # runserver's checks fill an empty DATABASES with Django's dummy backend first.
    port = free_port()
    server = runserver(str(port), "--noreload")
    try:
        server.wait_until_serving(port)
        assert request(port, "/up")[::2] == (200, "up\n")
    finally:
        server.stop()


def test_gunicorn_hello_serves_the_wsgi_application():
    port = free_port()
    with gunicorn_plain(port, SECRET_KEY=STRONG_KEY) as server:
        status, headers, body = request(port, host=f"localhost:{port}")
        assert (status, body) == (200, "Hello World")
        assert headers["server"] == "gunicorn"
        assert "Booting worker" in server.output()


def test_head_and_options_answer_as_get_does():
    port = free_port()
    with gunicorn_plain(port, SECRET_KEY=STRONG_KEY):
        assert request(port, method="HEAD")[:1] == (200,)
        assert request(port, method="OPTIONS")[::2] == (200, "Hello World")


def test_check_reports_no_issues():
    done = run_hello("check")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, CHECK_CLEAN, "")


def test_management_commands_are_dispatched():
    done = run_hello("help")
    assert done.returncode == 0
    assert "runserver" in done.stdout and "check" in done.stdout


def test_test_command_runs_with_the_settings_configured_once():
    done = run_hello("test")
    assert done.returncode == 0, done.stderr
    assert "Ran 0 tests" in done.stderr


def test_run_or_imported_hello_py_is_one_module_named_hello():
    # `python hello.py` imports itself as `hello`, as gunicorn does: what it defines
    # has one module name, and `import hello` from a command finds it, not a copy.
    code = (
        "import sys, hello; from hello import index; "
        "print(index.__module__, sys.modules['hello'].application is hello.application)"
    )
    done = run_hello("shell", "-c", code)
    assert (done.returncode, done.stdout.split()[-2:]) == (0, ["hello", "True"])


def inline_dependencies(script):
    """The `dependencies` of a file's PEP 723 `# /// script` block."""
    block = re.search(r"(?ms)^# /// script$\n(.*?)^# ///$", script.read_text())[1]
    line = re.search(r"^# dependencies = (\[.*\])$", block, re.MULTILINE)[1]
    return ast.literal_eval(line)


def test_the_files_own_dependencies_are_requirements_txt():
    requirements = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    # honcho runs the Procfile on a developer's machine, so no platform installs it.
    assert inline_dependencies(ROOT / "hello.py") == requirements


@pytest.fixture
def the_file_alone(tmp_path):
    """An empty folder holding hello.py and nothing else, as a person downloads it."""
    shutil.copy(ROOT / "hello.py", tmp_path)
    return tmp_path


@pytest.mark.slow
def test_uv_runs_the_file_alone_with_the_dependencies_it_names(the_file_alone):
    answer = uv_runserver_answer(the_file_alone, "hello.py")
    assert answer == (200, "Hello World")
    assert {path.name for path in the_file_alone.iterdir()} == {"hello.py"}


@pytest.mark.slow
def test_uv_runs_check_deploy_and_gunicorn_from_the_file_alone(the_file_alone):
    uv = str(BIN / "uv")
    done = subprocess.run(
        [uv, "run", "hello.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=the_file_alone,
        env=environment(HTTPS_ONLY="on", **PRODUCTION),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "System check identified no issues (1 silenced)."
    port = free_port()
    argv = [uv, "run", "--with-requirements", "hello.py", *gunicorn_argv(port)]
    server = Server(argv, environment(**PRODUCTION), cwd=the_file_alone)
    with serving(server, port):
        assert request(port, host="localhost")[::2] == (200, "Hello World")


@pytest.mark.slow
def test_pipx_runs_the_file_alone_too(the_file_alone):
    done = subprocess.run(
        [str(BIN / "pipx"), "run", "hello.py", "check"],
        cwd=the_file_alone,
        env=environment(PIPX_HOME=str(the_file_alone.parent / "pipx")),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN), done.stderr


README = (ROOT / "README.md").read_text()


@pytest.mark.slow
def test_the_readmes_run_command_installs_the_project_and_starts_it(tmp_path):
    # On a fresh machine: the Quick start's first command, word for word, in a folder
    # holding the project's files; it serves http://127.0.0.1:8000/ as the README says.
    command = re.search(r"(?m)^python3 -m venv .*runserver$", README)[0]
    for name in ("hello.py", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    server = Server(["sh", "-c", command], environment(), cwd=tmp_path)
    try:
        status, _, body = server.wait_until_serving(8000, timeout=300)
    finally:
        server.stop()
    assert (status, body) == (200, "Hello World")


def test_what_the_readme_shows_at_a_prompt_is_what_it_prints():
    for block in re.findall(r"(?ms)^```console\n(.*?)^```$", README):
        for command, shown in re.findall(r"(?ms)^\$ (.*?)\n(.*?)(?=^\$ |\Z)", block):
            done = subprocess.run(
                ["sh", "-c", command.replace("python ", f"{sys.executable} ", 1)],
                cwd=ROOT,
                env=environment(),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.stdout + done.stderr == shown, command


def test_hello_py_reads_as_the_book_settings_the_view_its_url_the_application():
    lines = (ROOT / "hello.py").read_text().splitlines()
    order = [
        "DEBUG = ",
        "settings.configure(",
        "def index",
        "urlpatterns = ",
        "application = ",
    ]
    first = {
        name: next(n for n, line in enumerate(lines) if line.startswith(name))
        for name in order
    }
    assert sorted(first, key=first.get) == order, first
    # The middleware every response passes through comes after what it serves.
    assert all(
        n > first["urlpatterns = "]
        for n, line in enumerate(lines)
        if line.startswith("def ") and "(get_response)" in line
    )
    ruff = subprocess.run(
        [str(BIN / "ruff"), "format", "--diff", "hello.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout
