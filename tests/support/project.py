"""The project under test, and hello.py run as a command in an environment of its own.

Settings are read when hello.py is imported, so every configuration is tried in a
process of its own with its own environment.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONFIG_VARIABLES = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS_ONLY")
STRONG_KEY = "x7Jq-2Lk9wPzR4vN8mT1sB6yH3cF5gD0aE-uW7iO9pK2lM4nQ8rS1tV3xY6zA5bC"
PRODUCTION = {"DEBUG": "off", "SECRET_KEY": STRONG_KEY}
CHECK_CLEAN = "System check identified no issues (0 silenced)."


def environment(**config):
    """This process's environment without hello.py's variables, then `config`."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    for name in (
        # CI=true is set by CI itself; on a dyno it would mean Heroku CI (hello.py).
        "CI",
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


def run_hello(*args, cwd=ROOT, script="hello.py", timeout=60, **config):
    """`python hello.py ARGS` (or another `script`) in `cwd` with `config` as its
    environment; returns the finished process."""
    return subprocess.run(
        [sys.executable, script, *args],
        check=False,
        cwd=cwd,
        env=environment(**config),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def settings_of(cwd=ROOT, **config):
    """The settings hello.py (in `cwd`) ends up with under `config`, read in a fresh
    process."""
    code = "import json; from django.conf import settings as s; print(json.dumps({n: getattr(s, n, None) for n in dir(s) if n.isupper()}, default=str))"
    done = run_hello("shell", "-c", code, cwd=cwd, **config)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
