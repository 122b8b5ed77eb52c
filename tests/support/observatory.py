"""Mozilla's HTTP Observatory (the scanner published on npm), grading hello.py served as
the Procfile serves it behind nginx terminating TLS on localhost."""

import json
import os
import subprocess
import time

from support.project import ROOT
from support.servers import (
    Server,
    gunicorn_procfile_options_argv,
    nginx_argv,
    procfile_environment,
)
from support.tools import need, need_network_namespace

OBSERVATORY = ROOT / "tests" / "observatory"


def observatory_scan(tmp_path, scan_js, cwd=ROOT, **config):
    """The Observatory's verdict on hello.py, served as the Procfile serves it behind a
    TLS-terminating proxy, at https://localhost/ and http://localhost/: nginx on ports
    443 and 80, so all of it runs in a network namespace of its own."""
    need_network_namespace()
    config = {"ALLOWED_HOSTS": "localhost", **config}
    argv, env = gunicorn_procfile_options_argv(8000), procfile_environment(**config)
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
            wait_for_the_proxy(app)
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


def wait_for_the_proxy(app, timeout=30):
    """Until nginx listens on port 80 and gunicorn answers behind it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if app.request(80, host="localhost", timeout=2)[0] != 502:
                return
        except OSError:
            pass  # nginx not listening yet
        time.sleep(0.05)
    raise AssertionError("nginx did not answer for gunicorn on port 80")


def failed_tests(verdict):
    return {name for name, test in verdict["tests"].items() if not test["pass"]}
