"""Worker candidates for the Procfile, measured on the starter's uses, one worker each:
slow clients reached directly, the hello page, a view waiting on PostgreSQL, memory.

    pip install -r tests/benchmark/requirements.txt -r tests/requirements.txt
    sudo python tests/benchmark/exposure.py   # root: PostgreSQL runs as its own user

Slow clients: N connections that each send one byte (`G`) and then nothing, as a
client reaching gunicorn directly may; then a normal request every 0.2 s: how long
until one is answered (at most 15 s). The waiting view: two queries with 50 ms
between them (tests/extend.py), under wrk -c30 for 5 s.
"""

import socket
import sys
import tempfile
import time
from pathlib import Path

from run import APPS, BIN, ROOT, SECRET_KEY, children, memory_kib, wrk

sys.path.insert(0, str(ROOT / "tests"))
from support.extend import VIEW_THAT_WAITS, extended_copy
from support.net import free_port, request
from support.postgres import postgresql
from support.procfile import gunicorn_options
from support.project import environment
from support.servers import Server

POSTGRESQL = """
import dj_database_url

DATABASES = {"default": dj_database_url.config(conn_max_age=600, conn_health_checks=True)}
"""


def candidates():
    # An option on the command line wins over gunicorn.conf.py's.
    procfile = gunicorn_options()
    many = [*procfile, "--threads", "64"]
    asgi = [*procfile, "--worker-class", "asgi"]
    return {
        "the Procfile: gthread, 5 threads": ("hello", procfile),
        "gthread, 64 threads": ("hello", many),
        "asgi worker, Django's ASGI handler": ("hello_asgi:application", asgi),
    }


def serve(directory, target, options, **config):
    port = free_port()
    argv = [str(BIN / "gunicorn"), target, "--bind", f"127.0.0.1:{port}"]
    env = environment(
        DEBUG="off", SECRET_KEY=SECRET_KEY, WEB_CONCURRENCY="1", PYTHONPATH=str(APPS),
        **config,
    )  # fmt: skip
    server = Server([*argv, "--no-control-socket", *options], env, cwd=directory)
    server.wait_until_serving(port, host="localhost")
    return server, port


def first_answer_under_slow_clients(port, clients, bound=15):
    """Seconds until a normal request is answered while `clients` hold one byte each."""
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(clients)]
    try:
        for connection in held:
            connection.sendall(b"G")
        time.sleep(1)
        started = time.monotonic()
        while time.monotonic() - started < bound:
            try:
                if request(port, host="localhost", timeout=0.5)[0] == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.2)
        return None
    finally:
        for connection in held:
            connection.close()


def main():
    print("| worker | 5 slow clients | 100 slow clients | hello req/s | hello p99 "
          "| worker USS | waiting view req/s | p99 | errors |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    with postgresql() as database, tempfile.TemporaryDirectory() as directory:
        extended_copy(Path(directory), settings=POSTGRESQL, code=VIEW_THAT_WAITS)
        for name, (target, options) in candidates().items():
            row = [name]
            server, port = serve(ROOT, target, options)
            try:
                for clients in (5, 100):
                    waited = first_answer_under_slow_clients(port, clients)
                    row.append("none in 15 s" if waited is None else f"{waited:.2f} s")
                hello = wrk(port, 5, 8)
                uss = memory_kib(children(server.pid)[0])[1] / 1024
                row += [
                    f"{hello['rps']:.0f}",
                    f"{hello['p99']:.1f} ms",
                    f"{uss:.1f} MB",
                ]
            finally:
                server.stop()
            server, port = serve(directory, target, options, DATABASE_URL=database.url)
            try:
                waiting = wrk(port, 5, 30, "/visits")
                row += [f"{waiting['rps']:.0f}", f"{waiting['p99']:.0f} ms"]
                row.append(str(waiting["errors"]))
            finally:
                server.stop()
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
