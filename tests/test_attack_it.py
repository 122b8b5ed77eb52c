"""Attack it: malformed and malicious requests over raw sockets, against the Procfile's
gunicorn configuration. Each gets a 4xx (or gunicorn's 501/505) or a closed connection,
never a 500 nor a traceback, setting or secret, and the server answers 200 right after.
"""

import re
import socket
import subprocess
import sys

import pytest
from support.extend import grown_copy
from support.net import free_port, request
from support.project import PRODUCTION, ROOT, STRONG_KEY, environment, run_hello
from support.servers import gunicorn_procfile_options

OK = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
BIG = 3 * 1024 * 1024  # past Django's DATA_UPLOAD_MAX_MEMORY_SIZE of 2.5 MiB


def get(
    host=b"localhost", target=b"/", version=b"HTTP/1.1", method=b"GET", headers=b""
):
    return (
        method
        + b" "
        + target
        + b" "
        + version
        + b"\r\nHost: "
        + host
        + b"\r\n"
        + headers
        + b"\r\n"
    )


HOSTS = [
    b"",
    b" ",
    b"evil.example",
    b"localhost.evil.example",
    b"evil.example#localhost",
    b"localhost/evil",
    b"localhost?evil",
    b"localhost\\evil",
    b"local host",
    b"user@localhost",
    b"user:password@localhost",
    b"localhost@evil.example",
    b"evil.example@localhost",
    b"localhost:abc",
    b"localhost:-1",
    b"localhost:1:2",
    b"localhost:",
    b"localhost: 80",
    b"[::1]:x",
    b"[::1",
    b"::1",
    b"[::2]",
    b"127.0.0.2",
    b"0x7f.0.0.1",
    b"2130706433",
    b"localhost..",
    b"..",
    b".",
    b"-",
    b"*",
    b"a" * 300 + b".localhost",
    b"a" * 5000,
    b"a" * 20000,
    "lócalhost".encode(),
    "localhost\u2024".encode(),
    "😀.localhost".encode(),
    b"localhost\xff",
    b"xn--lcalhost-9za",
    b"%6c%6f%63%61%6c%68%6f%73%74",
]

HOST_ATTACKS = [get(host) for host in HOSTS] + [
    b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: evil.example\r\nHost: localhost\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost, evil.example\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : localhost\r\n\r\n",
    b"GET / HTTP/1.1\r\n Host: localhost\r\n\r\n",
    get(target=b"http://127.0.0.1/", host=b"evil.example"),  # the Host header counts
    get(target=b"//evil.example/"),  # a path: 404
    get(target=b"//[x"),
    get(target=b"//[abc]/"),
    get(target=b"http://[x/"),
    get(target=b"http:///", host=b"evil.example"),
    get(target=b"http://evil.example/", host=b"evil.example"),
    get(target=b"http://localhost/", host=b"evil.example"),
]

# Odd but harmless requests that Django itself serves: they get what Django gives them.
ACCEPTED = [
    get(host=b"localhost:65536"),
    get(host=b"LOCALHOST:99999"),
    get(host=b"[::1]:65536"),
    get(host=b"localhost:00000000000000000000080000"),
    get(host=b"localhost:" + b"9" * 4400),  # past int()'s 4,300 digits
    get(target=b"http://localhost:80/"),  # absolute-form naming this very host
    get(target=b"HTTP://LOCALHOST/"),
    get(target=b"http://localhost:99999999999999/"),
    # Reached directly, an absolute-form target is served for the Host header, and a
    # request with no Host for the address gunicorn listens on (README.md: Served
    # directly); a router or nginx passes neither on (test_serve_it_under_stress.py).
    get(target=b"http://evil.example/"),
    get(target=b"https://evil.example/"),
    get(target=b"http://localhost.evil.example/"),
    get(target=b"http://evil.example:80/"),
    get(target=b"http://user@evil.example/"),
    get(target=b"http:///"),
    b"GET / HTTP/1.1\r\n\r\n",
    get(method=b"HEAD"),
    # A body the view never reads, no larger than REQUEST_BODY_MAX_SIZE.
    b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % BIG
    + b"x" * BIG,
]

OVERSIZED = [
    get(target=b"/" + b"a" * 5000),
    get(target=b"/" + b"a" * 100_000),
    get(target=b"/?" + b"q=1&" * 2000),
    get(headers=b"X-Big: " + b"a" * 9000 + b"\r\n"),
    get(headers=b"X-Big: " + b"a" * 100_000 + b"\r\n"),
    get(headers=b"X-" + b"a" * 9000 + b": 1\r\n"),
    get(headers=b"Cookie: " + b"c=1; " * 3000 + b"\r\n"),
    get(headers=b"".join(b"X-%d: 1\r\n" % i for i in range(101))),
    get(headers=b"".join(b"X-%d: 1\r\n" % i for i in range(1000))),
    get(headers=b"X-Folded: a\r\n" + b" b\r\n" * 500),
]

METHODS = [
    b"get",
    b"Get",
    b"G\x00T",
    b"GE T",
    b"G@T",
    b"GET\t",
    b"",
    b"A" * 1000,
    b"A" * 100_000,
    b"HTTP/1.1",
    b"\xff\xfe",
    b"PUT",
    b"DELETE",
    b"PATCH",
    b"POST",
    b"PROPFIND",
    b"FOO",
]
BAD_METHODS = [get(method=method) for method in METHODS] + [
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
]

VERSIONS = [
    b"HTTP/2.0",
    b"HTTP/3.0",
    b"HTTP/0.9",
    b"HTTP/2",
    b"HTTP/1",
    b"HTTP/",
    b"HTTP",
    b"HTTPS/1.1",
    b"http/1.1",
    b"HTTP/1.1.1",
    b"HTTP/a.b",
    b"HTTP/9.9",
    b"HTTP/1.10",
    b"HTTP/01.1",
    b"HTTP/1.1 extra",
    b"HTTP/-1.1",
    b"HTTP/1.1\x00",
    b"FTP/1.1",
]
BAD_VERSIONS = [get(version=version) for version in VERSIONS] + [
    b"GET /\r\n\r\n",  # HTTP/0.9's simple request
    b"GET\r\n\r\n",
    b"\r\n\r\n\r\n",
    b"GET / HTTP/1.1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET  / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b" GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET\t/\tHTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET / HTTP/1.1 \r\nHost: localhost\r\n\r\n",
]

CONTROL_BYTES = [
    get(target=b"/\x00"),
    get(target=b"/a\x00b"),
    get(target=b"/\x01"),
    get(target=b"/\x7f"),
    get(target=b"/\x1b[31m"),
    get(target=b"/a b"),
    get(target=b"/\ra"),
    get(target=b"/\xff"),
    get(headers=b"X-Nul: a\x00b\r\n"),
    get(headers=b"X-Ctl: a\x01b\r\n"),
    get(headers=b"X-Esc: \x1b[2J\r\n"),
    get(headers=b"X-Del: a\x7fb\r\n"),
    get(headers=b"X-\x00: a\r\n"),
    get(headers=b"X a: b\r\n"),
    get(headers=b"X(a): b\r\n"),
    get(headers=b": no-name\r\n"),
    get(headers=b"no-colon\r\n"),
    get(headers=b"X-Cr: a\rb\r\n"),
    get(host=b"local\x00host"),
    get(host=b"localhost\x00.evil.example"),
    b"GET / HTTP/1.1\nHost: localhost\n\n",
    b"GET / HTTP/1.1\rHost: localhost\r\r",
    b"\x00GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS ClientHello
]

TRAVERSALS = [
    b"/../../etc/passwd",
    b"/..%2f..%2fetc%2fpasswd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/%252e%252e/%252e%252e/etc/passwd",
    b"/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    b"/..\\..\\windows\\win.ini",
    b"//etc/passwd",
    b"/./././etc/passwd",
    b"/hello.py",
    b"/.env",
    b"/.git/config",
    b"/%00",
    b"/index.php?page=../../etc/passwd",
    b"/static/../hello.py",
    b"/admin/",
    b"/..",
    b"/%2e%2e",
    b"/;/etc/passwd",
    b"*",
    b"?",
    b"",
    b"../",
    b"etc/passwd",
    b"/" + b"%" * 50,
    b"/%zz",
    b"/%",
    b"/<script>alert(1)</script>",
    b"/'%20OR%201=1--",
    b"/" + "é".encode(),
]
PATHS = [get(target=target) for target in TRAVERSALS]

SMUGGLING = [
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    (
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
    ),
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: +5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5x\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0x5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: \r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1 0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length : 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5;"
    + b"x" * 10000
    + b"\r\nhello\r\n0\r\n\r\n",
    b"POST / HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length:\r\n 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nshort",
]

BODIES = [
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: %d\r\n\r\n" % BIG + b"a=1&" * (BIG // 4),
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    b"Content-Length: %d\r\n\r\n" % BIG + b"x" * BIG,
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    % BIG
    + b"[" * BIG,
    b"PUT / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % BIG
    + b"x" * BIG,
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 40000\r\n\r\n" + b"a&" * 20000,
    b"POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
    % BIG,
    b"PATCH / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (BIG * 8)
    + b"x" * BIG,
    b"DELETE / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % BIG
    + b"x" * BIG,
    # Past REQUEST_BODY_MAX_SIZE: 413, before a byte of it is read.
    *(
        method
        + b" / HTTP/1.1\r\nHost: localhost\r\nCookie: csrftoken="
        + b"a" * 32
        + b"\r\nContent-Length: %d\r\n\r\n" % (5 * 1024 * 1024 + 1)
        for method in (b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS")
    ),
    b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (1 << 40),
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    b"Content-Length: %d\r\n\r\n" % (100 * 1024 * 1024),
]

CORPUS = (
    HOST_ATTACKS
    + OVERSIZED
    + BAD_METHODS
    + BAD_VERSIONS
    + CONTROL_BYTES
    + PATHS
    + SMUGGLING
    + BODIES
)
LEAKS = [
    STRONG_KEY.encode(),
    b"Traceback",
    b"SECRET_KEY",
    b"DEBUG = True",
    b'File "',
    b'hello.py"',
]


def exchange(port, data, timeout=10):
    """Send `data`, half-close, and read all that comes back until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        try:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close before reading a large request to the end
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


def status_of(answer):
    """The status code of the first final response, or None for a connection closed unanswered."""
    answer = answer.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
    if not answer:
        return None
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def test_the_corpus_is_large_and_every_request_in_it_distinct():
    assert len(CORPUS) >= 200
    assert len(set(CORPUS)) == len(CORPUS)


@pytest.fixture(scope="module")
def production():
    """The Procfile's configuration in production, with gunicorn's access log on."""
    port = free_port()
    with gunicorn_procfile_options(port, "--access-logfile", "-") as server:
        yield port, server


@pytest.fixture(scope="module")
def development():
    """DEBUG on: only the loopback hosts are served, and Django's debug pages are on."""
    port = free_port()
    with gunicorn_procfile_options(port, DEBUG="on") as server:
        yield port, server


OUTCOMES = {}  # port -> {status or None: how many}, for the figures printed at the end


def assert_refused_and_still_serving(port, data, leaks):
    answer = exchange(port, data)
    status = status_of(answer)
    counts = OUTCOMES.setdefault(port, {})
    counts[status] = counts.get(status, 0) + 1
    assert status is None or 400 <= status < 500 or status in (501, 505), answer[:300]
    for leak in leaks:
        assert leak not in answer, answer[:300]
    assert request(port, host="localhost")[::2] == (200, "Hello World")
    return status


@pytest.mark.parametrize(
    "data", CORPUS, ids=[f"{i}:{c[:30]!r}" for i, c in enumerate(CORPUS)]
)
def test_a_hostile_request_in_production_is_refused_plainly(production, data):
    assert_refused_and_still_serving(production[0], data, LEAKS)


@pytest.mark.parametrize(
    "data", CORPUS, ids=[f"{i}:{c[:30]!r}" for i, c in enumerate(CORPUS)]
)
def test_a_hostile_request_with_debug_on_is_refused_without_the_secret(
    development, data
):
    # With DEBUG on, Django answers a Host it does not serve with its debug page,
    # traceback included, by design; the secret key stays masked even there.
    assert_refused_and_still_serving(development[0], data, [STRONG_KEY.encode()])


@pytest.mark.parametrize(
    "data", ACCEPTED, ids=[f"{i}:{c[:40]!r}" for i, c in enumerate(ACCEPTED)]
)
def test_what_django_accepts_is_served_as_django_serves_it(production, data):
    answer = exchange(production[0], data)
    assert status_of(answer) == 200, answer[:300]
    assert data.startswith(b"HEAD") or answer.endswith(b"Hello World")


PYTHON_LINE = r"\d{4}-\d\d-\d\d [\d:,]+ (WARNING|ERROR) [\w.]+: "
GUNICORN_LINE = r'\[[^]]+\] \[\d+\] \[(INFO|WARNING)\] |\S+ - - \[[^]]+\] "'


def test_the_whole_corpus_leaves_one_line_per_refusal_and_no_traceback(production):
    port, server = production
    before = len(server.output())
    for data in CORPUS + ACCEPTED:
        exchange(port, data)
    assert request(port, host="localhost")[0] == 200
    log = server.output()[before:]
    access = re.findall(r'" (\d{3}) ', log)
    assert len(access) >= len(CORPUS) // 2, log  # gunicorn refuses the rest itself
    assert "500" not in access and "Traceback" not in log, log
    assert "Worker (pid" not in log  # no worker died or timed out
    for line in log.splitlines():
        # Each line says its time, level and logger (Python's logging as hello.py sets
        # it up, or gunicorn's own), or is gunicorn's access log.
        assert re.match(PYTHON_LINE, line) or re.match(GUNICORN_LINE, line), line
    for outcome in OUTCOMES.values():
        tally = ", ".join(
            f"{n} × {status or 'closed'}"
            for status, n in sorted(outcome.items(), key=str)
        )
        print(f"\nfigures: {sum(outcome.values())} hostile requests answered {tally}")


def test_a_smuggled_request_is_never_answered_as_a_second_one(production):
    # The connection is kept alive, so a second request on it is answered: the check
    # below can see one.
    statuses = re.compile(rb"HTTP/1\.1 (\d{3}) ")
    assert statuses.findall(exchange(production[0], OK + OK)) == [b"200", b"200"]
    for smuggled in SMUGGLING:
        # After the first answer, at most gunicorn's 400 for the rest of the bytes.
        answered = statuses.findall(exchange(production[0], smuggled))
        assert set(answered[1:]) <= {b"400"}, (smuggled, answered)


@pytest.mark.parametrize(
    "config",
    [PRODUCTION, {**PRODUCTION, "HTTPS_ONLY": "on"}, {"DEBUG": "on"}],
    ids=["production", "production behind HTTPS", "debug"],
)
def test_a_property_based_search_finds_no_request_answered_with_5xx(config):
    # tests/support/hostile_requests.py: Hypothesis generates targets, Hosts, ports and bodies.
    done = subprocess.run(
        [sys.executable, "hostile_requests.py", "1000"],
        cwd=ROOT / "tests" / "support",
        env=environment(**config),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert done.stdout.startswith("tried 1000 requests: "), done.stdout
    # With DEBUG on, Django logs a refused Host with its traceback; nothing else may.
    tracebacks = done.stderr.count("Traceback (most recent call last)")
    refused_hosts = done.stderr.count("\ndjango.core.exceptions.DisallowedHost: ")
    assert tracebacks == refused_hosts, done.stderr[-5000:]
    if config.get("DEBUG") != "on":
        assert tracebacks == 0, done.stderr[-5000:]
    print(f"\nfigures: Hypothesis {done.stdout.strip()}")


def send_headers_then_the_body(port, head, size, send_body):
    """`head`, then (if `send_body`) `size` bytes of body as fast as the socket takes
    them: the status the server answers with."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        if send_body:
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(size >> 20):
                    conn.sendall(chunk)
            except OSError:
                pass  # the server answered and closed before the end: as it should
        answer = b""
        try:
            while b"\r\n" not in answer and (part := conn.recv(65536)):
                answer += part
        except ConnectionResetError:
            pass
        return status_of(answer)


@pytest.mark.parametrize("cookie", ["", "csrftoken=" + "a" * 32], ids=["", "with CSRF"])
@pytest.mark.parametrize("send_body", [False, True], ids=["headers", "whole body"])
def test_a_100_mb_upload_to_the_admin_login_is_refused_413_and_nothing_spooled(
    tmp_path, cookie, send_body
):
    # Anyone gets a CSRF cookie from the login page; Django caps form fields, not files.
    spool = tmp_path / "tmp"
    spool.mkdir()
    project = grown_copy(tmp_path / "grown")
    collected = run_hello("collectstatic", "--noinput", cwd=project, **PRODUCTION)
    assert collected.returncode == 0, collected.stderr
    size, port = 100 * 1024 * 1024, free_port()
    head = (
        b"POST /admin/login/ HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\n"
        b"Cookie: %s\r\nContent-Length: %d\r\n\r\n" % (cookie.encode(), size)
    )
    with gunicorn_procfile_options(port, cwd=project, TMPDIR=str(spool)) as server:
        status = send_headers_then_the_body(port, head, size, send_body)
        assert request(port, "/up", host="localhost")[0] == 200
        log = server.output()
    assert status == 413
    assert list(spool.iterdir()) == []
    assert "Traceback" not in log
