"""Deploy it: production settings, the Procfile under a real Procfile runner, error pages, logs."""

import re
import shutil
import socket
import time

import django
import pytest
from support.browser import chromium
from support.extend import extended_copy
from support.net import free_port, request
from support.observatory import failed_tests, observatory_scan
from support.project import BIN, PRODUCTION, ROOT, STRONG_KEY, environment, run_hello
from support.servers import (
    INSTRUMENTED,
    Server,
    gunicorn_argv,
    gunicorn_plain,
    gunicorn_procfile_options,
    honcho_procfile,
    honcho_procfile_server,
    serving,
)
from support.tools import need_network_namespace

DEBUG_PAGE = "You’re seeing this error because you have <code>DEBUG = True</code>"


def test_check_deploy_is_clean_in_production_behind_https():
    # One check silenced: W021, HSTS preload, which only a domain's owner should ask for.
    done = run_hello(
        "check", "--deploy", "--fail-level", "WARNING", HTTPS_ONLY="on", **PRODUCTION
    )
    clean = "System check identified no issues (1 silenced)."
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, clean, "")


def test_check_deploy_names_what_plain_http_production_gives_up():
    done = run_hello("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W016"):
        assert warning in done.stderr
    assert "security.W009" not in done.stderr and "security.W018" not in done.stderr


def from_the_proxy(port, path="/", forwarded_proto=None):
    """A request from 127.0.0.2, an address gunicorn does not trust, like a platform router's."""
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    return request(port, path, host="localhost", headers=headers, source="127.0.0.2")


def test_https_only_behind_a_proxy_serves_https_with_hsts_and_redirects_plain_http():
    port = free_port()
    with gunicorn_plain(port, HTTPS_ONLY="on", **PRODUCTION):
        status, headers, body = from_the_proxy(port, forwarded_proto="https")
        assert (status, body) == (200, "Hello World")
        assert (
            headers["strict-transport-security"]
            == "max-age=31536000; includeSubDomains"
        )
        status, headers, _ = from_the_proxy(port, "/?q=1", forwarded_proto="http")
        assert (status, headers["location"]) == (301, "https://localhost/?q=1")
        assert from_the_proxy(port)[0] == 301


def test_without_https_only_a_forwarded_proto_header_changes_nothing():
    port = free_port()
    with gunicorn_plain(port, **PRODUCTION):
        status, headers, _ = from_the_proxy(port, forwarded_proto="https")
        assert status == 200 and "strict-transport-security" not in headers


@pytest.fixture(scope="module")
def production_with_a_bug():
    """gunicorn serving hello.py in production, plus one view that raises."""
    port = free_port()
    with gunicorn_plain(port, **INSTRUMENTED, **PRODUCTION) as server:
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
    with gunicorn_plain(port, **INSTRUMENTED, DEBUG="on") as server:
        status, _, body = request(port, "/broken", host="localhost")
        assert status == 500 and "a bug in a view" in body
        assert server.output().count("Traceback (most recent call last)") == 1
        assert request(port, "/broken", host="203.0.113.9")[0] == 400


def test_procfile_runs_in_production_on_ipv4_and_ipv6_by_default():
    port = free_port()
    with honcho_procfile(port, SECRET_KEY=STRONG_KEY) as server:
        for address, host in (("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")):
            assert server.request(port, address=address, host=host)[::2] == (
                200,
                "Hello World",
            )
        status, _, body = server.request(port, path="/missing")
        assert status == 404 and DEBUG_PAGE not in body
        output = server.output()
        assert "Using worker: gthread" in output and output.count("Booting worker") == 1


def test_procfile_without_a_secret_key_refuses_to_start():
    server = honcho_procfile_server(free_port())
    try:
        server.process.wait(timeout=30)
        assert (
            "hello.py: SECRET_KEY=<0 characters, 0 distinct> is refused;"
            in server.output()
        )
    finally:
        server.stop()


def test_procfile_shows_debug_pages_only_when_asked_to():
    port = free_port()
    with honcho_procfile(port, DEBUG="on") as server:
        status, _, body = server.request(port, path="/missing")
        assert status == 404 and DEBUG_PAGE in body


def test_procfile_honours_web_concurrency():
    port = free_port()
    with honcho_procfile(port, WEB_CONCURRENCY="3", SECRET_KEY=STRONG_KEY) as server:
        server.wait_for_output(r"(?s)(Booting worker.*){3}")
        assert server.output().count("Booting worker") == 3


def test_gunicorn_hello_with_nothing_set_refuses_to_start_naming_the_secret_key():
    # On a plain server, gunicorn is production: no debug page, no published key.
    argv = [str(BIN / "gunicorn"), "hello", "--bind", f"127.0.0.1:{free_port()}"]
    server = Server([*argv, "--no-control-socket"], environment())
    try:
        assert server.process.wait(timeout=30) != 0
        output = server.output()
    finally:
        server.stop()
    refusal = (
        "hello.py: SECRET_KEY=<0 characters, 0 distinct> is refused; with DEBUG off "
    )
    # gunicorn.conf.py preloads: the master stops with the refusal, and nothing else.
    assert len(output.splitlines()) == 1 and output.startswith(refusal), output


def test_gunicorn_hello_with_a_key_shows_no_debug_page_and_signs_with_that_key():
    port = free_port()
    with gunicorn_plain(port, **INSTRUMENTED, SECRET_KEY=STRONG_KEY):
        status, _, body = request(port, "/missing", host="localhost")
        assert status == 404 and DEBUG_PAGE not in body
        token = request(port, "/sign?value=hi", host="localhost")[2]
    code = f"from django.core import signing; print(signing.loads({token!r}))"
    assert (
        run_hello("shell", "-c", code, SECRET_KEY=STRONG_KEY).stdout.split()[-1] == "hi"
    )
    assert "BadSignature" in run_hello("shell", "-c", code).stderr


def test_gunicorn_hello_with_debug_on_shows_debug_pages_as_asked():
    port = free_port()
    with gunicorn_plain(port, DEBUG="on"):
        status, _, body = request(port, "/missing", host="localhost")
        assert status == 404 and DEBUG_PAGE in body


def platform_gunicorn(port, **config):
    """`gunicorn hello` with PORT set and nothing else, as a platform's start command
    runs it. gunicorn.conf.py then binds [::]:$PORT: so in a network namespace of its
    own. With `port` None, PORT is unset, as on a server of the user's own."""
    need_network_namespace()
    argv = [str(BIN / "gunicorn"), "hello", "--no-control-socket"]
    config = {**config, "PORT": str(port)} if port else config
    return Server(argv, environment(**config), isolated=True)


def test_gunicorn_hello_on_a_server_of_your_own_listens_on_loopback_only():
    with serving(platform_gunicorn(None, SECRET_KEY=STRONG_KEY), 8000) as server:
        assert "Listening at: http://127.0.0.1:8000" in server.output()
        assert "Using worker: gthread" in server.output()
        assert server.request(8000, host="localhost")[::2] == (200, "Hello World")
        # Another address of this machine's reaches nothing there: only a proxy on the
        # machine itself does.
        with pytest.raises(OSError):
            server.request(8000, address="127.0.0.2", host="localhost")


def test_gunicorn_with_port_set_shows_no_debug_page_on_every_interface():
    port = free_port()
    with serving(platform_gunicorn(port, SECRET_KEY=STRONG_KEY), port) as server:
        assert f"Listening at: http://[::]:{port}" in server.output()
        answer = server.request(port, address="::1", host="localhost")
        assert answer[::2] == (200, "Hello World")
        assert server.request(port, host="localhost")[::2] == (200, "Hello World")
        status, _, body = server.request(port, host="attacker.example")
        assert status == 400 and "<h1>Bad Request (400)</h1>" in body
        assert_leaks_nothing(body)
        status, _, body = server.request(port, path="/missing", host="localhost")
        assert status == 404 and DEBUG_PAGE not in body


@pytest.mark.slow
@pytest.mark.parametrize(
    "https_only, grade, failing",
    [("on", "A+", set()), ("off", "C+", {"redirection", "strict-transport-security"})],
)
def test_mozilla_http_observatory_grades_production(
    tmp_path, observatory, https_only, grade, failing
):
    verdict = observatory_scan(tmp_path, observatory, HTTPS_ONLY=https_only)
    scan = verdict["scan"]
    print(
        f"\nfigures: HTTP Observatory, HTTPS_ONLY={https_only}: {scan['grade']} "
        f"({scan['score']}), failing {sorted(failed_tests(verdict))}"
    )
    assert (scan["grade"], failed_tests(verdict)) == (grade, failing)


CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


@pytest.fixture(scope="module")
def production_behind_https_with_a_bug():
    """gunicorn serving hello.py in production with HTTPS_ONLY=on, plus a view that raises."""
    port = free_port()
    with gunicorn_plain(port, **INSTRUMENTED, **PRODUCTION, HTTPS_ONLY="on"):
        yield port


@pytest.mark.parametrize(
    "method, path, host, forwarded_proto, status",
    [
        ("GET", "/", "localhost", "https", 200),
        ("GET", "/", "localhost", "http", 301),
        ("GET", "/", "evil.example", "https", 400),
        ("POST", "/", "localhost", "https", 403),
        ("GET", "/missing", "localhost", "https", 404),
        ("GET", "/broken", "localhost", "https", 500),
        ("GET", "/up", "203.0.113.9", "", 200),
    ],
)
def test_every_production_response_carries_every_security_header(
    production_behind_https_with_a_bug, method, path, host, forwarded_proto, status
):
    port = production_behind_https_with_a_bug
    headers = {"X-Forwarded-Proto": forwarded_proto}
    answer, sent, _ = request(port, path, method, host=host, headers=headers)
    assert answer == status
    assert sent["content-security-policy"] == CSP
    assert sent["x-frame-options"] == "DENY"
    assert sent["x-content-type-options"] == "nosniff"
    assert (
        sent["referrer-policy"] == sent["cross-origin-opener-policy"] == "same-origin"
    )
    if forwarded_proto == "https":
        assert (
            sent["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        )


def test_with_debug_on_debug_pages_carry_no_csp_so_their_styles_and_scripts_work():
    port = free_port()
    with gunicorn_plain(port, **INSTRUMENTED, DEBUG="on"):
        status, sent, body = request(port, "/broken", host="localhost")
        assert status == 500 and "a bug in a view" in body and "<script" in body
        assert "content-security-policy" not in sent
        status, sent, body = request(port, "/missing", host="localhost")
        assert status == 404 and DEBUG_PAGE in body
        assert "content-security-policy" not in sent
        # The pages of the project itself keep theirs, so a policy breaks in development
        # what it would break in production.
        assert request(port, host="localhost")[1]["content-security-policy"] == CSP


# Views for support/csp_tests.py: one with a policy of its own, one using a nonce.
CSP_VIEWS = """
if django.VERSION >= (6,):
    from django.middleware.csp import get_nonce
    from django.views.decorators.csp import csp_override

    @csp_override({"frame-ancestors": ["https://partner.example"]})
    def embeddable(request):
        return HttpResponse("for a partner's frame")

    def scripted(request):
        return HttpResponse(f'<script nonce="{get_nonce(request)}" src="/a.js"></script>')

    urlpatterns += [path("embeddable", embeddable), path("scripted", scripted)]
"""


def test_the_policy_behaves_as_djangos_docs_say_under_djangos_test_runner(tmp_path):
    project = extended_copy(tmp_path, code=CSP_VIEWS)
    shutil.copy(ROOT / "tests" / "support" / "csp_tests.py", project / "tests.py")
    done = run_hello("test", cwd=project)
    skipped = "" if django.VERSION >= (6,) else " (skipped=2)"
    lines = done.stderr.splitlines()
    assert lines[-3].startswith("Ran 7 tests in ") and lines[-1] == "OK" + skipped, (
        done.stderr
    )


def test_the_platforms_page_shows_the_procfile_as_it_is():
    procfile = (ROOT / "Procfile").read_text().strip()
    assert f"```\n{procfile}\n```" in (ROOT / "docs" / "platforms.md").read_text()


def test_the_procfile_keeps_an_idle_connection_open_for_the_routers_next_request():
    # --keep-alive 100 outlasts the router's idle timeout; gunicorn's default (2 s) and
    # 0 (every response closes) would close it under the router.
    port = free_port()
    answers = []
    with (
        gunicorn_procfile_options(port),
        socket.create_connection(("127.0.0.1", port), timeout=10) as router,
    ):
        for pause in (3, 0):
            router.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = b""
            while not answer.endswith(b"Hello World") and (part := router.recv(65536)):
                answer += part
            answers.append(answer)
            time.sleep(pause)
    for answer in answers:
        assert (
            answer.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" not in answer
        )


def test_in_production_a_flood_of_client_mistakes_logs_one_host_and_an_error_once(
    production_with_a_bug,
):
    # A scanner's odd paths and foreign Hosts: the router logs each request already.
    # Only the process's first refused Host is logged, so a misspelt ALLOWED_HOSTS shows.
    port, server = production_with_a_bug
    before = server.output()
    for n in range(300):
        assert request(port, f"/scan-{n}.php", host="localhost")[0] == 404
        assert request(port, host=f"{n}.evil.example")[0] == 400
    assert request(port, "/favicon.ico", host="localhost")[0] == 404
    # The flood adds at most the process's first refused Host, if no test before it
    # sent one; over the whole log, there is exactly one.
    added = server.output().removeprefix(before).splitlines()
    refused = [
        line for line in server.output().splitlines() if "DisallowedHost" in line
    ]
    assert len(added) <= 1 and all("DisallowedHost" in line for line in added), added
    assert len(refused) == 1, refused
    assert re.search(
        r" ERROR django\.security\.DisallowedHost: Invalid HTTP_HOST header: "
        r"'[^']+'\. You may need to add '[^']+' to ALLOWED_HOSTS\. "
        r"Later refused Hosts are not logged\.$",
        refused[0],
    ), refused
    before = server.output()
    assert request(port, "/broken", host="localhost")[0] == 500
    logged = server.output().removeprefix(before)
    assert " ERROR django.request: Internal Server Error: /broken" in logged, logged
    assert logged.count(" ERROR ") == 1, logged


def test_in_production_a_misspelt_allowed_hosts_leaves_one_line_naming_the_host():
    port = free_port()
    argv = gunicorn_argv(port)
    server = Server(argv, environment(**PRODUCTION, ALLOWED_HOSTS="exmaple.com"))
    try:
        # A platform's probe: /up answers before Host validation.
        server.wait_until_serving(port, path="/up")
        for _ in range(3):
            assert request(port, host="example.com")[0] == 400
        output = server.output()
    finally:
        server.stop()
    logged = [line for line in output.splitlines() if " django." in line]
    assert len(logged) == 1 and "Traceback" not in output, logged
    assert logged[0].endswith(
        " ERROR django.security.DisallowedHost: Invalid HTTP_HOST header: "
        "'example.com'. You may need to add 'example.com' to ALLOWED_HOSTS. "
        "Later refused Hosts are not logged."
    ), logged


def test_with_debug_on_a_404_is_one_line_and_a_refused_host_says_why():
    port = free_port()
    with gunicorn_plain(port, **INSTRUMENTED, DEBUG="on") as server:
        before = server.output()
        assert request(port, "/missing", host="localhost")[0] == 404
        logged = server.output().removeprefix(before).splitlines()
        assert len(logged) == 1, logged
        assert logged[0].endswith(" WARNING django.request: Not Found: /missing")
        before = server.output()
        assert request(port, host="evil.example")[0] == 400
        logged = server.output().removeprefix(before)
    assert (
        " ERROR django.security.DisallowedHost: Invalid HTTP_HOST header: 'evil.example'."
        in logged
    ), logged


@pytest.mark.parametrize("debug", ["on", "off"])
def test_a_csrf_failure_is_logged_with_djangos_reason(debug):
    # The classic first deploy's 403: the log says why, with DEBUG on and off.
    port = free_port()
    config = {"DEBUG": debug, "SECRET_KEY": STRONG_KEY}
    with gunicorn_plain(port, **INSTRUMENTED, **config) as server:
        before = server.output()
        assert request(port, method="POST", host="localhost", body=b"a=1")[0] == 403
        cross_site = {
            "Origin": "https://evil.example",
            "Cookie": "csrftoken=" + "a" * 32,
        }
        status = request(port, method="POST", host="localhost", headers=cross_site)[0]
        assert status == 403
        logged = server.output().removeprefix(before).splitlines()
    assert logged[0].endswith(
        " WARNING django.security.csrf: Forbidden (CSRF cookie not set.): /"
    ), logged
    assert logged[1].endswith(
        " WARNING django.security.csrf: Forbidden (Origin checking failed - "
        "https://evil.example does not match any trusted origins.): /"
    ), logged
    assert len(logged) == 2, logged


def test_a_browser_visiting_the_hello_page_leaves_no_warning_in_the_log():
    # Every browser asks for /favicon.ico, which the hello page has not.
    port = free_port()
    with (
        gunicorn_procfile_options(port, "--access-logfile", "-") as server,
        chromium() as browser,
    ):
        browser.get(f"http://localhost:{port}/")
        assert browser.find_element("tag name", "body").text == "Hello World"
        deadline = time.monotonic() + 10
        while "/favicon.ico" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.output()
    assert '"GET /favicon.ico HTTP/1.1" 404' in log, log
    assert " WARNING " not in log and " ERROR " not in log, log
