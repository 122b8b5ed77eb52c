"""Servers started for real, each in a session of its own, on loopback (or in a network
namespace holding only loopback, for what binds every interface), and stopped by PID:

- runserver is started by the tests themselves (`python hello.py runserver`);
- gunicorn_plain: `gunicorn hello` with only the options a test gives;
- gunicorn_procfile_options: gunicorn with the Procfile's options, in production,
  on a loopback port (the Procfile's own bind is every interface);
- honcho_procfile: the Procfile itself under honcho, with PORT set, as a platform
  runs it, in a network namespace of its own;
- nginx_argv: nginx in front, buffering requests and terminating TLS.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from support.net import free_port, request
from support.procfile import gunicorn_options
from support.project import BIN, PRODUCTION, ROOT, environment
from support.tools import need, need_network_namespace


class Server:
    """A server process started in its own session, its output kept in a file."""

    def __init__(self, argv, env, cwd=ROOT, isolated=False):
        # Isolated: in a network namespace of its own holding only loopback, for a
        # command that binds every interface, as the Procfile's [::]:$PORT does.
        if isolated:
            argv = [
                "unshare",
                "--net",
                "sh",
                "-c",
                'ip link set lo up && exec "$@"',
                "isolated",
                *argv,
            ]
        self.isolated = isolated
        # Kept open for the server's lifetime; closed by stop().
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            mode="w+", prefix="server-", suffix=".log"
        )
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid

    def inside(self, *argv):
        """`argv`, to run in the server's network namespace."""
        return ["nsenter", "--target", str(self.pid), "--net", *argv]

    def request(self, port, **options):
        """`request()`, made from inside the server's network namespace if it has one."""
        if not self.isolated:
            return request(port, **options)
        code = "import json, sys; from support.net import request; print(json.dumps(request(**json.loads(sys.argv[1]))))"
        argv = self.inside(sys.executable, "-c", code)
        done = subprocess.run(
            [*argv, json.dumps({"port": port, **options})],
            cwd=ROOT / "tests",  # where `support` is a package
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode:
            raise OSError(done.stderr.strip().splitlines()[-1])
        return tuple(json.loads(done.stdout))

    def output(self):
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def wait_for_output(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the server's output:\n{self.output()}")

    def wait_until_serving(self, port, timeout=30, **options):
        """The first answer to `request(port, **options)`, once the server gives one."""
        options = {"host": "127.0.0.1", **options, "timeout": 2}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                return self.request(port, **options)
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nothing served on port {port}:\n{self.output()}")

    def stop(self, timeout=40):
        """SIGTERM to the process group led by our PID, SIGKILL if it lingers; the exit status.

        The timeout outlasts gunicorn's 30 s graceful shutdown. A gunicorn master that a
        Procfile runner started in a session of its own is stopped by the PID it logged.
        """
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout)
            except ProcessLookupError:
                pass
        masters = [
            int(pid)
            for pid in re.findall(r"Listening at: \S+ \((\d+)\)", self.output())
        ]
        for pid in [self.pid, *masters]:
            try:  # what is left of the group of a leader that died first
                group = os.getpgid(pid)
                if group != os.getpgid(0):
                    os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        return self.process.returncode


def uv_runserver_answer(directory, script):
    """`uv run SCRIPT runserver` in `directory`: its first answer, (status, body)."""
    port = free_port()
    argv = [str(BIN / "uv"), "run", script, "runserver", str(port), "--noreload"]
    server = Server(argv, environment(), cwd=directory)
    try:
        return server.wait_until_serving(port, timeout=120)[::2]
    finally:
        server.stop()


@contextmanager
def serving(server, port):
    """`server`, once it answers on `port`; stopped by its PID afterwards."""
    try:
        server.wait_until_serving(port)
        yield server
    finally:
        server.stop()


def gunicorn_argv(port, *options, app="hello"):
    """`gunicorn APP OPTIONS` on loopback."""
    argv = [str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}"]
    return [*argv, "--no-control-socket", *options]


def gunicorn_plain(port, *options, app="hello", cwd=ROOT, **config):
    """`gunicorn APP` in `cwd` on loopback with `config`, serving once this yields."""
    argv = gunicorn_argv(port, *options, app=app)
    return serving(Server(argv, environment(**config), cwd=cwd), port)


def gunicorn_procfile_options_argv(port, *options, app="hello"):
    """gunicorn as the Procfile configures it, on loopback."""
    return gunicorn_argv(port, *gunicorn_options(), *options, app=app)


def procfile_environment(workers=1, **config):
    """The production environment, with `workers` for WEB_CONCURRENCY."""
    return environment(**{**PRODUCTION, "WEB_CONCURRENCY": str(workers), **config})


def gunicorn_procfile_options(
    port, *options, workers=1, app="hello", cwd=ROOT, **config
):
    """gunicorn as the Procfile configures it, in production, serving once this yields."""
    argv = gunicorn_procfile_options_argv(port, *options, app=app)
    return serving(Server(argv, procfile_environment(workers, **config), cwd=cwd), port)


# support/instrumented.py: hello.py with views that raise and sign, as `app=` and environment.
INSTRUMENTED = {
    "app": "instrumented:application",
    "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "support")]),
}


def honcho_procfile_server(port, procfile_dir=ROOT, **config):
    """The Procfile's web process under honcho with PORT set, as a platform runs it.

    It binds [::]:$PORT, every interface: so it runs in a network namespace of its own.
    """
    need_network_namespace()
    env = environment(PORT=str(port), GUNICORN_CMD_ARGS="--no-control-socket", **config)
    argv = [
        str(BIN / "honcho"),
        "start",
        "--no-prefix",
        "-f",
        str(procfile_dir / "Procfile"),
        "-p",
        str(port),
        "web",
    ]
    return Server(argv, env, cwd=procfile_dir, isolated=True)


def honcho_procfile(port, procfile_dir=ROOT, **config):
    """honcho_procfile_server(), serving once this yields."""
    return serving(honcho_procfile_server(port, procfile_dir, **config), port)


NGINX_CONF = """
{user}
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 10000; }}
http {{
    access_log off;
    # hello.py's own cap (REQUEST_BODY_MAX_SIZE), as docs/own-server.md sets it: a
    # larger body gets nginx's 413, not a 502 when the app answers before reading it.
    client_max_body_size 5m;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream hello {{ {upstreams} }}
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    server {{
        {listen}
        location / {{
            proxy_pass http://hello;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def nginx_argv(tmp_path, upstreams, http, https):
    """nginx in front of the gunicorn ports `upstreams`, as a platform's router is:
    buffering requests, terminating TLS (a certificate made here for localhost) and
    saying so in X-Forwarded-Proto; listening on the `http` and `https` addresses."""
    nginx = need("nginx", "nginx-light")
    openssl = need("openssl")
    certificate = ["-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    certificate += ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    certificate += ["-keyout", str(tmp_path / "key.pem")]
    certificate += ["-out", str(tmp_path / "cert.pem")]
    subprocess.run([openssl, "req", *certificate], check=True, capture_output=True)
    listen = [f"listen {address};" for address in http]
    listen += [f"listen {address} ssl;" for address in https]
    conf = NGINX_CONF.format(
        # As root nginx would run its workers as nobody, who cannot write a request
        # body to the temporary folder (a body past 16 KiB got nginx's own 500).
        user="user root;" if os.geteuid() == 0 else "",
        tmp=tmp_path,
        upstreams=" ".join(f"server 127.0.0.1:{port};" for port in upstreams),
        listen=" ".join(listen),
    )
    (tmp_path / "nginx.conf").write_text(conf)
    return [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)]
