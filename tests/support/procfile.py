"""The Procfile's web process, read as words, for running its gunicorn configuration
on loopback (the tests' faults and attacks, the benchmark)."""

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
    """The gunicorn options of the web process, less --bind: e.g. ['--preload']."""
    words = shlex.split(web_command(procfile))
    words = words[words.index("gunicorn") + 2 :]  # after `gunicorn APP`
    options = []
    while words:
        word = words.pop(0)
        if word == "--bind":
            words.pop(0)
        else:
            options.append(word)
    return options
