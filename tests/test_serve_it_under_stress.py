"""Serve it under stress: load, killed and reloaded workers, slow clients, and a real
reverse proxy, all against the Procfile's gunicorn configuration in production mode.

Every load is bounded in time, every server listens on loopback and is stopped by its PID.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager

import pytest
from support.net import free_port, request
from support.servers import (
    INSTRUMENTED,
    Server,
    gunicorn_procfile_options,
    gunicorn_procfile_options_argv,
    nginx_argv,
    procfile_environment,
)
from support.tools import need

# Counts the responses whose status is not 200 across wrk's threads.
COUNT_STATUSES = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) responses = 0; not_200 = 0 end
function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then not_200 = not_200 + 1 end
end
function done(summary, latency, requests)
  local responses, not_200 = 0, 0
  for _, thread in ipairs(threads) do
    responses = responses + thread:get("responses")
    not_200 = not_200 + thread:get("not_200")
  end
  io.write(string.format("responses=%d not_200=%d\\n", responses, not_200))
end
"""


class Load:
    """wrk against `url` for `seconds`, in the background; results once it has finished."""

    def __init__(self, url, seconds, connections, tmp_path, threads=2):
        script = tmp_path / "count_statuses.lua"
        script.write_text(COUNT_STATUSES)
        argv = [
            need("wrk"),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
        ]
        argv += ["-H", "Host: localhost", "-s", str(script), url]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.seconds = seconds

    def result(self):
        out, _ = self.process.communicate(timeout=self.seconds + 30)
        assert self.process.returncode == 0, out
        errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
        )
        counted = re.search(r"responses=(\d+) not_200=(\d+)", out)
        return {
            "requests": int(re.search(r"(\d+) requests in", out)[1]),
            "errors": sum(map(int, errors.groups())) if errors else 0,
            "responses": int(counted[1]),
            "not_200": int(counted[2]),
            "output": out,
        }


def master_pid(server):
    return int(server.wait_for_output(r"Listening at: \S+ \((\d+)\)")[1])


def worker_pids(server):
    return [
        int(pid)
        for pid in re.findall(r"Booting worker with pid: (\d+)", server.output())
    ]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_load_over_64_connections_for_15_seconds_has_no_error(tmp_path):
    port = free_port()
    with gunicorn_procfile_options(port, workers=2):
        load = Load(f"http://127.0.0.1:{port}/", 15, 64, tmp_path).result()
    print(
        f"\nfigures: load {load['requests']} requests in 15 s over 64 connections, {load['errors']} errors"
    )
    # How many the machine manages is the client's speed, not the server's: enough to
    # have kept both workers busy, and every one of them answered 200.
    assert load["requests"] >= 2_000, load["output"]
    assert (load["errors"], load["not_200"]) == (0, 0), load["output"]
    assert load["responses"] == load["requests"]


def test_a_worker_killed_under_load_is_replaced_and_service_goes_on(tmp_path):
    port, connections = free_port(), 16
    with gunicorn_procfile_options(port, workers=2) as server:
        victim = worker_pids(server)[0]
        load = Load(f"http://127.0.0.1:{port}/", 6, connections, tmp_path)
        time.sleep(2)
        os.kill(victim, signal.SIGKILL)
        result = load.result()
        wait_for(lambda: len(worker_pids(server)) == 3)
        assert not alive(victim)
        assert request(port, host="localhost")[0] == 200
    print(
        f"\nfigures: kill -9: {result['responses']} answered, {result['errors']} failed of 16 connections"
    )
    # Only the requests on the killed worker's connections can fail.
    assert result["errors"] <= connections, result["output"]
    assert result["not_200"] == 0, result["output"]
    assert result["responses"] > 1000


def test_sighup_under_load_replaces_the_workers_without_a_failed_request(tmp_path):
    port = free_port()
    with gunicorn_procfile_options(port, workers=2) as server:
        old = worker_pids(server)
        load = Load(f"http://127.0.0.1:{port}/", 6, 16, tmp_path)
        time.sleep(2)
        os.kill(master_pid(server), signal.SIGHUP)
        result = load.result()
        wait_for(
            lambda: len(worker_pids(server)) >= 4 and not any(alive(pid) for pid in old)
        )
        assert request(port, host="localhost")[0] == 200
    print(
        f"\nfigures: SIGHUP: {result['responses']} answered, {result['errors']} failed"
    )
    assert (result["errors"], result["not_200"]) == (0, 0), result["output"]
    assert result["responses"] > 1000


def test_sigterm_under_load_completes_requests_in_flight_and_exits_0(tmp_path):
    port = free_port()
    with gunicorn_procfile_options(port, workers=2) as server:
        # Requests in flight: their workers have them, all but the blank line ending them.
        # Sent while the server is idle, so that its workers have accepted them before
        # the load starts competing for their attention.
        in_flight = [
            socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(8)
        ]
        for conn in in_flight:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.5)
        load = Load(f"http://127.0.0.1:{port}/", 4, 16, tmp_path)
        time.sleep(1)
        os.kill(master_pid(server), signal.SIGTERM)
        answers = []
        for conn in in_flight:
            conn.sendall(b"\r\n")
            answers.append(b"".join(iter(lambda conn=conn: conn.recv(65536), b"")))
            conn.close()
        assert server.process.wait(timeout=40) == 0
        result = load.result()
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(
            b"Hello World"
        ), answer
    assert result["not_200"] == 0, result["output"]


@contextmanager
def behind_nginx(tmp_path, **config):
    """Two gunicorn instances as the Procfile configures them, behind nginx on HTTP and HTTPS."""
    first, second, http_port, https_port = (free_port() for _ in range(4))
    access_log = ("--access-logfile", "-")
    with (
        gunicorn_procfile_options(first, *access_log, **INSTRUMENTED, **config) as one,
        gunicorn_procfile_options(second, *access_log, **INSTRUMENTED, **config) as two,
    ):
        argv = nginx_argv(
            tmp_path,
            upstreams=(first, second),
            http=[f"127.0.0.1:{http_port}"],
            https=[f"127.0.0.1:{https_port}"],
        )
        proxy = Server(argv, env=None)
        try:
            proxy.wait_until_serving(http_port, host="localhost")
            yield {
                "http": http_port,
                "https": https_port,
                "instances": (one, two),
                "ports": (first, second),
            }
        finally:
            proxy.stop()


def test_nginx_shares_load_across_two_instances_without_error(tmp_path):
    with behind_nginx(tmp_path) as proxy:
        load = Load(f"http://127.0.0.1:{proxy['http']}/", 5, 32, tmp_path).result()
        served = [
            instance.output().count('"GET / HTTP/1.') for instance in proxy["instances"]
        ]
    print(
        f"\nfigures: behind nginx {load['responses']} answered, {load['errors']} errors, split {served}"
    )
    assert (load["errors"], load["not_200"]) == (0, 0), load["output"]
    assert load["responses"] > 1000
    assert min(served) > load["responses"] / 4, served


def test_behind_https_nginx_serves_with_hsts_and_redirects_plain_http(tmp_path):
    with behind_nginx(tmp_path, HTTPS_ONLY="on") as proxy:
        status, headers, body = request(proxy["https"], host="localhost", tls=True)
        assert (status, body) == (200, "Hello World")
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        status, headers, _ = request(proxy["http"], "/?next=1", host="localhost")
        assert (status, headers["location"]) == (301, "https://localhost/?next=1")


def exchange(port, data):
    """`data` sent raw to `port`; all that comes back until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        return b"".join(iter(lambda: conn.recv(65536), b""))


@pytest.mark.parametrize(
    "sent, status, passed_on",
    [
        # No Host at all: HTTP/1.1 says to refuse it, and nginx does, itself.
        (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 400, None),
        # Absolute-form: passed on in origin form, with the one Host nginx sets.
        (
            (
                b"GET http://evil.example/page?q=1 HTTP/1.1\r\nHost: localhost\r\n"
                b"Connection: close\r\n\r\n"
            ),
            404,
            "GET /page?q=1 HTTP/1.0 host=localhost",
        ),
        (
            (
                b"GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n"
                b"Connection: close\r\n\r\n"
            ),
            400,
            "GET / HTTP/1.0 host=evil.example",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n",
            400,
            None,
        ),
    ],
    ids=["no Host", "absolute-form", "absolute-form, foreign Host", "two Hosts"],
)
def test_behind_nginx_a_request_arrives_in_origin_form_with_one_host(
    tmp_path, sent, status, passed_on
):
    # What a router does for hello.py (docs/own-server.md: Why a proxy in front).
    app, http = free_port(), free_port()
    log = ("--access-logfile", "-", "--access-logformat", "%(r)s host=%({host}i)s")
    with gunicorn_procfile_options(app, *log) as server:
        argv = nginx_argv(tmp_path, [app], http=[f"127.0.0.1:{http}"], https=[])
        proxy = Server(argv, env=None)
        try:
            # gunicorn logs a request after answering it: each request below is counted
            # once its own line is in the log, never by a pause.
            proxy.wait_until_serving(http, path="/before", host="localhost")
            server.wait_for_output(r"GET /before HTTP/1.0 host=localhost\n")
            before = server.output().count("\n")
            answer = exchange(http, sent)
            request(http, "/after", host="localhost")
            server.wait_for_output(r"GET /after HTTP/1.0 host=localhost\n")
            if passed_on:
                server.wait_for_output(re.escape(passed_on) + "\n")
            arrived = server.output().splitlines()[before:]
        finally:
            proxy.stop()
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
    # The access log's lines alone (the app logs its first refused Host too); a
    # readiness probe retried on a busy machine may log a second /before line.
    arrived = [
        line
        for line in arrived
        if re.match(r"[A-Z]+ \S+ HTTP/1\.[01] host=", line)
        and not line.startswith(("GET /before ", "GET /after "))
    ]
    assert arrived == ([passed_on] if passed_on else []), arrived


def test_a_value_signed_by_one_instance_verifies_on_the_other(tmp_path):
    with behind_nginx(tmp_path) as proxy:
        first, second = proxy["ports"]
        status, _, token = request(first, "/sign?value=hello", host="localhost")
        assert status == 200 and token.startswith("ImhlbGxvIg:")
        assert request(second, f"/unsign?token={token}", host="localhost")[::2] == (
            200,
            "hello",
        )
        assert request(second, f"/unsign?token={token}x", host="localhost")[0] == 403
        for _ in range(4):  # through the proxy, whichever instance answers
            assert request(proxy["http"], f"/unsign?token={token}", host="localhost")[
                ::2
            ] == (200, "hello")


def test_sigterm_ends_gunicorn_well_inside_the_platforms_30_seconds():
    # Platforms send SIGTERM to every process, then SIGKILL 30 s later (Heroku, Render);
    # here it comes as the workers boot. gunicorn must be gone before the SIGKILL.
    port = free_port()
    server = Server(
        gunicorn_procfile_options_argv(port), procfile_environment(workers=2)
    )
    try:
        server.wait_for_output(r"(?s)(Booting worker.*){2}")
        os.killpg(server.pid, signal.SIGTERM)
        signalled = time.monotonic()
        assert server.process.wait(timeout=25) == 0, server.output()
        stopped = time.monotonic() - signalled
    finally:
        server.stop()
    print(f"\nfigures: SIGTERM as the workers boot: gunicorn gone in {stopped:.1f} s")


class SlowHTTPTest:
    """slowhttptest (Debian package slowhttptest) holding `connections` open at `url`
    for `seconds`, in slow-header (-H) or slow-body (-B) mode."""

    def __init__(self, url, mode, connections, seconds, tmp_path):
        self.csv = tmp_path / f"slowhttptest{mode}"
        argv = [need("slowhttptest"), mode, "-c", str(connections), "-r", "1000"]
        argv += ["-i", "5", "-l", str(seconds), "-p", "1", "-u", url]
        argv += ["-g", "-o", str(self.csv)]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.seconds = seconds

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def answered_in_time(port, seconds=10, timeout=5):
    """Normal requests to `port`, one after another for `seconds`: how many were
    answered 200 within `timeout`, and how many were not."""
    answered = failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            answered += request(port, host="localhost", timeout=timeout)[0] == 200
        except OSError:
            failed += 1
        time.sleep(0.2)
    return answered, failed


def held_by_the_server(port):
    """How many connections the server on `port` holds open now, by the kernel's count
    (`ss`): what the attack costs the server, however fast its client managed."""
    ss = need("ss", "iproute2")
    done = subprocess.run(
        [ss, "-Htn", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    )
    return len(done.stdout.splitlines())


def under_slow_clients(port, mode, tmp_path, timeout=5, connections=4000):
    """Normal requests to `port` while slowhttptest holds up to `connections` open on
    it: (answered, not answered, the most connections the server held)."""
    attack = SlowHTTPTest(f"http://127.0.0.1:{port}/", mode, connections, 20, tmp_path)
    held, done = [0], threading.Event()

    def watch():
        while not done.wait(0.5):
            held[0] = max(held[0], held_by_the_server(port))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        time.sleep(6)  # up to 1,000 connections a second, then some follow-up data
        answered, failed = answered_in_time(port, timeout=timeout)
        return answered, failed, held[0]
    finally:
        done.set()
        watcher.join()
        attack.stop()


@pytest.mark.parametrize("mode", ["-H", "-B"], ids=["slow headers", "slow bodies"])
def test_behind_a_buffering_proxy_4000_slow_clients_keep_no_one_waiting(tmp_path, mode):
    with behind_nginx(tmp_path) as proxy:
        answered, failed, held = under_slow_clients(proxy["http"], mode, tmp_path)
    print(
        f"\nfigures: slowhttptest {mode} through nginx, which held {held} connections: "
        f"{answered} normal requests answered, {failed} not"
    )
    # Ten times what the two workers' ten threads could hold reached directly.
    assert held >= 100, held
    assert answered >= 10 and failed == 0


def test_reached_directly_4000_slow_headers_leave_no_one_answered(tmp_path):
    # The Procfile's configuration with no proxy in front (tests/README.md: Slow
    # clients): a slow header holds a thread until the request is whole, so 4,000 of
    # them leave none for anyone else. (Slow bodies, answered 403 before they are
    # read, still hold a thread while gunicorn drains them for up to 5 s: how many
    # normal requests get through then depends on the machine's speed.)
    port = free_port()
    with gunicorn_procfile_options(port, workers=2):
        answered, failed, held = under_slow_clients(port, "-H", tmp_path)
    print(
        f"\nfigures: slowhttptest -H straight at gunicorn, which held {held} "
        f"connections: {answered} normal requests answered, {failed} not"
    )
    assert held >= 100 and failed >= 2 and answered == 0


@pytest.mark.parametrize("stalled, answered", [(4, True), (5, False)])
def test_reached_directly_five_stalled_clients_hold_a_worker(stalled, answered):
    # The figure the README gives: a gthread worker reads a request on one of its 5
    # threads from its first byte, with no time limit, so a client that sends one byte
    # and stalls holds a thread for as long as it keeps the connection.
    port = free_port()
    with gunicorn_procfile_options(port, workers=1):
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(stalled)]
        try:
            for connection in held:
                connection.sendall(b"G")
            time.sleep(1)
            try:
                status = request(port, host="localhost", timeout=3)[0]
            except TimeoutError:
                status = None
        finally:
            for connection in held:
                connection.close()
    print(f"\nfigures: {stalled} stalled one-byte clients: answered {status}")
    assert (status == 200) is answered
