"""Run it: the commands a newcomer types first, as real processes speaking HTTP."""

import sys

from conftest import (
    CHECK_CLEAN,
    PRODUCTION,
    Server,
    environment,
    free_port,
    gunicorn,
    request,
    run_hello,
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


def test_gunicorn_hello_serves_the_wsgi_application():
    port = free_port()
    with gunicorn(port) as server:
        status, headers, body = request(port, host=f"localhost:{port}")
        assert (status, body) == (200, "Hello World")
        assert headers["server"] == "gunicorn"
        assert "Booting worker" in server.output()


def test_every_http_method_the_view_allows_answers_hello_world():
    port = free_port()
    with gunicorn(port):
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


def test_importing_hello_a_second_time_is_harmless():
    # Under `python hello.py`, the module runs as __main__; `import hello` runs it again.
    done = run_hello(
        "shell", "-c", "import hello; print(hello.application.__class__.__name__)"
    )
    assert (done.returncode, done.stdout.split()[-1]) == (0, "WSGIHandler"), done.stderr
