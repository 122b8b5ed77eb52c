"""Helpers to run hello.py for real: as a command, under runserver, gunicorn and honcho.

Settings are read when hello.py is imported, so every configuration is tried in a
process of its own with its own environment. Every server listens on loopback, and
is stopped by its PID (its whole process group: gunicorn's workers, runserver's child).
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from procfile import gunicorn_options

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG_VARIABLES = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS_ONLY")
STRONG_KEY = "x7Jq-2Lk9wPzR4vN8mT1sB6yH3cF5gD0aE-uW7iO9pK2lM4nQ8rS1tV3xY6zA5bC"
PRODUCTION = {"DEBUG": "off", "SECRET_KEY": STRONG_KEY}
CHECK_CLEAN = "System check identified no issues (0 silenced)."


def environment(**config):
    """This process's environment without hello.py's variables, then `config`."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    for name in (
        "PORT",
        "WEB_CONCURRENCY",
        "GUNICORN_CMD_ARGS",
        "HTTPS",
        "DJANGO_SETTINGS_MODULE",
    ):
        env.pop(name, None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(config)
    return env


def run_hello(*args, cwd=ROOT, timeout=60, **config):
    """`python hello.py ARGS` with `config` as its environment; returns the finished process."""
    return subprocess.run(
        [sys.executable, "hello.py", *args],
        check=False,
        cwd=cwd,
        env=environment(**config),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def settings_of(**config):
    """The settings hello.py ends up with under `config`, read in a fresh process."""
    code = "import json; from django.conf import settings as s; print(json.dumps({n: getattr(s, n, None) for n in dir(s) if n.isupper()}, default=str))"
    done = run_hello("shell", "-c", code, **config)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing(message):
    """Skip a test whose tool is missing on a person's machine; fail it in CI."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def need(tool, package=None):
    """The path of `tool`, a program from Debian's `package`."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if not found:
        missing(f"{tool} is not installed (Debian package {package or tool})")
    return found


def request(
    port,
    path="/",
    method="GET",
    host="127.0.0.1",
    headers=None,
    body=None,
    address="127.0.0.1",
    timeout=10,
    source=None,
    tls=False,
):
    """One HTTP request, from the `source` address if given, over TLS (any certificate)
    if `tls`; returns (status, headers as a lower-cased dict, body as text)."""
    options = {"timeout": timeout, "source_address": (source, 0) if source else None}
    if tls:
        options["context"] = (
            ssl._create_unverified_context()
        )  # the tests' own certificate
    connection = http.client.HTTPSConnection if tls else http.client.HTTPConnection
    conn = connection(address, port, **options)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read().decode("utf-8", "replace"),
        )
    finally:
        conn.close()


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
        code = "import json, sys; from conftest import request; print(json.dumps(request(**json.loads(sys.argv[1]))))"
        argv = self.inside(sys.executable, "-c", code)
        done = subprocess.run(
            [*argv, json.dumps({"port": port, **options})],
            cwd=ROOT / "tests",
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


def gunicorn(port, *options, app="hello", cwd=ROOT, **config):
    """`gunicorn APP` in `cwd` on loopback with `config`, serving once this yields."""
    argv = gunicorn_argv(port, *options, app=app)
    return serving(Server(argv, environment(**config), cwd=cwd), port)


def procfile_gunicorn_argv(port, *options, app="hello"):
    """gunicorn as the Procfile configures it, on loopback."""
    return gunicorn_argv(port, *gunicorn_options(), *options, app=app)


def procfile_environment(workers=1, **config):
    """The production environment, with `workers` for WEB_CONCURRENCY."""
    return environment(**{**PRODUCTION, "WEB_CONCURRENCY": str(workers), **config})


def procfile_gunicorn(port, *options, workers=1, app="hello", cwd=ROOT, **config):
    """gunicorn as the Procfile configures it, in production, serving once this yields."""
    argv = procfile_gunicorn_argv(port, *options, app=app)
    return serving(Server(argv, procfile_environment(workers, **config), cwd=cwd), port)


# tests/instrumented.py: hello.py with views that raise and sign, as `app=` and environment.
INSTRUMENTED = {
    "app": "instrumented:application",
    "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
}


def procfile_server(port, procfile_dir=ROOT, **config):
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


def procfile(port, procfile_dir=ROOT, **config):
    """procfile_server(), serving once this yields."""
    return serving(procfile_server(port, procfile_dir, **config), port)


def need_network_namespace():
    need("unshare", "util-linux")
    need("nsenter", "util-linux")
    need("ip", "iproute2")
    if os.geteuid() != 0:
        missing("a network namespace of the test's own needs root")


NGINX_CONF = """
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 10000; }}
http {{
    access_log off;
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
        tmp=tmp_path,
        upstreams=" ".join(f"server 127.0.0.1:{port};" for port in upstreams),
        listen=" ".join(listen),
    )
    (tmp_path / "nginx.conf").write_text(conf)
    return [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)]


OBSERVATORY = ROOT / "tests" / "observatory"


@pytest.fixture(scope="session")
def observatory():
    """Mozilla's HTTP Observatory scanner (`scan.js`), installed from tests/observatory."""
    need("node", "nodejs")
    npm = need("npm")
    scanner = OBSERVATORY / "node_modules" / "@mdn" / "mdn-http-observatory"
    if not scanner.exists():
        # --ignore-scripts: its install step downloads lists the scan does not need.
        install = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
        subprocess.run(install, cwd=OBSERVATORY, check=True, timeout=600)
    preload = scanner / "conf" / "hsts-preload.json"
    if not preload.exists():
        preload.write_text("{}")  # no site here is on browsers' HSTS preload list
    return scanner / "src" / "scan.js"


def observatory_scan(tmp_path, scan_js, cwd=ROOT, **config):
    """The Observatory's verdict on hello.py, served as the Procfile serves it behind a
    TLS-terminating proxy, at https://localhost/ and http://localhost/: nginx on ports
    443 and 80, so all of it runs in a network namespace of its own."""
    need_network_namespace()
    config = {"ALLOWED_HOSTS": "localhost", **config}
    argv, env = procfile_gunicorn_argv(8000), procfile_environment(**config)
    app = Server(argv, env, cwd=cwd, isolated=True)
    try:
        app.wait_until_serving(8000, host="localhost")
        addresses = ["127.0.0.1", "[::1]"]
        proxy_argv = nginx_argv(
            tmp_path,
            upstreams=[8000],
            http=[f"{address}:80" for address in addresses],
            https=[f"{address}:443" for address in addresses],
        )
        proxy = Server(app.inside(*proxy_argv), env=None)
        try:
            while app.request(80, host="localhost", timeout=2)[0] == 502:
                time.sleep(0.05)  # nginx is up, gunicorn not yet
            env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(tmp_path / "cert.pem")}
            done = subprocess.run(
                app.inside(need("node", "nodejs"), str(scan_js), "localhost"),
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return json.loads(done.stdout)
        finally:
            proxy.stop()
    finally:
        app.stop()


def failed_tests(verdict):
    return {name for name, test in verdict["tests"].items() if not test["pass"]}
