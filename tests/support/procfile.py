"""The Procfile's web process and gunicorn.conf.py, read as gunicorn's options, for
running the production configuration on loopback (the tests' faults and attacks, the
benchmark) in any folder."""

import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def web_command(procfile=ROOT / "Procfile"):
    """The Procfile's `web` command line."""
    for line in procfile.read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError(f"{procfile} has no web process")


def gunicorn_options(procfile=ROOT / "Procfile"):
    """gunicorn.conf.py, named, then the web process's options less --bind: what
    `gunicorn hello` runs with in this folder, from whichever folder it starts."""
    words = shlex.split(web_command(procfile))
    words = words[words.index("gunicorn") + 2 :]  # after `gunicorn APP`
    options = ["--config", str(procfile.with_name("gunicorn.conf.py"))]
    while words:
        word = words.pop(0)
        if word == "--bind":
            words.pop(0)
        else:
            options.append(word)
    return options
