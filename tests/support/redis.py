"""A throwaway Redis from Debian's `redis-server` package, on a loopback port, keeping
nothing on disk, stopped by its PID; it can be stopped and started again on the same
port, as an outage."""

import socket
import tempfile
import time
from contextlib import contextmanager

from support.net import free_port
from support.servers import Server
from support.tools import need


class Redis:
    def __init__(self):
        self.port, self.server = free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = tempfile.mkdtemp(prefix="redis-")

    def start(self):
        argv = [need("redis-server", "redis-server"), "--port", str(self.port)]
        argv += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", self.directory]
        self.server = Server(argv, env=None)
        self.server.wait_for_output(r"Ready to accept connections")

    def stop(self):
        self.server.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return
            time.sleep(0.05)

    def command(self, *words):
        """One command in Redis's protocol: the first line of its answer."""
        request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(request.encode())
            return conn.makefile("rb").readline().decode().strip()


@contextmanager
def redis():
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
