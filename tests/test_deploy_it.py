"""Deploy it: production settings, the Procfile under a real Procfile runner, error pages, logs."""

import time

import pytest
from conftest import (
    CHECK_CLEAN,
    INSTRUMENTED,
    PRODUCTION,
    STRONG_KEY,
    free_port,
    gunicorn,
    procfile,
    procfile_server,
    request,
    run_hello,
)

DEBUG_PAGE = "You’re seeing this error because you have <code>DEBUG = True</code>"


def test_check_deploy_is_clean_in_production_behind_https():
    done = run_hello(
        "check", "--deploy", "--fail-level", "WARNING", HTTPS_ONLY="on", **PRODUCTION
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, CHECK_CLEAN, "")


def test_check_deploy_names_what_plain_http_production_gives_up():
    done = run_hello("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W016"):
        assert warning in done.stderr
    assert "security.W009" not in done.stderr and "security.W018" not in done.stderr


def test_check_deploy_flags_the_development_key_if_it_reaches_production():
    key = run_hello(
        "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"
    ).stdout.split()[-1]
    done = run_hello("check", "--deploy", HTTPS_ONLY="on", DEBUG="off", SECRET_KEY=key)
    assert "security.W009" in done.stderr


def from_the_proxy(port, path="/", forwarded_proto=None):
    """A request from 127.0.0.2, an address gunicorn does not trust, like a platform router's."""
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    return request(port, path, host="localhost", headers=headers, source="127.0.0.2")


def test_https_only_behind_a_proxy_serves_https_with_hsts_and_redirects_plain_http():
    port = free_port()
    with gunicorn(port, HTTPS_ONLY="on", **PRODUCTION):
        status, headers, body = from_the_proxy(port, forwarded_proto="https")
        assert (status, body) == (200, "Hello World")
        assert (
            headers["strict-transport-security"]
            == "max-age=31536000; includeSubDomains; preload"
        )
        status, headers, _ = from_the_proxy(port, "/?q=1", forwarded_proto="http")
        assert (status, headers["location"]) == (301, "https://localhost/?q=1")
        assert from_the_proxy(port)[0] == 301


def test_without_https_only_a_forwarded_proto_header_changes_nothing():
    port = free_port()
    with gunicorn(port, **PRODUCTION):
        status, headers, _ = from_the_proxy(port, forwarded_proto="https")
        assert status == 200 and "strict-transport-security" not in headers


@pytest.fixture(scope="module")
def production_with_a_bug():
    """gunicorn serving hello.py in production, plus one view that raises."""
    port = free_port()
    with gunicorn(port, **INSTRUMENTED, **PRODUCTION) as server:
        yield port, server


def assert_leaks_nothing(body):
    for secret in (
        "Traceback",
        STRONG_KEY,
        "SECRET_KEY",
        "DEBUG = True",
        "a bug in a view",
        "Request Method",
        "hello",
    ):
        assert secret not in body


@pytest.mark.parametrize(
    "method, path, host, status, page",
    [
        ("GET", "/", "evil.example", 400, "<h1>Bad Request (400)</h1>"),
        ("POST", "/", "localhost", 403, "<h1>Forbidden <span>(403)</span></h1>"),
        ("GET", "/missing", "localhost", 404, "<h1>Not Found</h1>"),
        ("GET", "/broken", "localhost", 500, "<h1>Server Error (500)</h1>"),
    ],
)
def test_production_error_pages_are_djangos_plain_ones(
    production_with_a_bug, method, path, host, status, page
):
    port, _ = production_with_a_bug
    answer, _, body = request(port, path, method=method, host=host)
    assert answer == status
    assert page in body
    assert_leaks_nothing(body)


def test_a_server_error_logs_its_traceback_to_stderr_exactly_once(
    production_with_a_bug,
):
    port, server = production_with_a_bug
    before = server.output()
    assert request(port, "/broken", host="localhost")[0] == 500
    logged = server.output().removeprefix(before)
    assert logged.count("Internal Server Error: /broken") == 1, logged
    assert logged.count("Traceback (most recent call last)") == 1, logged
    assert logged.count("RuntimeError: a bug in a view") == 1, logged


def test_a_server_error_with_debug_on_is_logged_once_and_shown_on_loopback_only():
    port = free_port()
    with gunicorn(port, **INSTRUMENTED) as server:
        status, _, body = request(port, "/broken", host="localhost")
        assert status == 500 and "a bug in a view" in body
        assert server.output().count("Traceback (most recent call last)") == 1
        assert request(port, "/broken", host="203.0.113.9")[0] == 400


def test_procfile_runs_in_production_on_ipv4_and_ipv6_by_default():
    port = free_port()
    with procfile(port, SECRET_KEY=STRONG_KEY) as server:
        for address, host in (("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")):
            assert server.request(port, address=address, host=host)[::2] == (
                200,
                "Hello World",
            )
        status, _, body = server.request(port, path="/missing")
        assert status == 404 and DEBUG_PAGE not in body
        output = server.output()
        assert "Using worker: gevent" in output and output.count("Booting worker") == 1


def test_procfile_without_a_secret_key_refuses_to_start():
    server = procfile_server(free_port())
    try:
        server.process.wait(timeout=30)
        assert "hello.py: SECRET_KEY='' is refused;" in server.output()
    finally:
        server.stop()


def test_procfile_shows_debug_pages_only_when_asked_to():
    port = free_port()
    with procfile(port, DEBUG="on") as server:
        status, _, body = server.request(port, path="/missing")
        assert status == 404 and DEBUG_PAGE in body


def test_procfile_honours_web_concurrency():
    port = free_port()
    with procfile(port, WEB_CONCURRENCY="3", SECRET_KEY=STRONG_KEY) as server:
        server.wait_for_output(r"(?s)(Booting worker.*){3}")
        assert server.output().count("Booting worker") == 3
        # A gevent worker told to stop in its first instants only goes after the 30 s
        # graceful timeout: let the three settle by serving for a moment first.
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            assert server.request(port)[0] == 200
