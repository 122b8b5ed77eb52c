"""Fixtures shared by the test files; the helpers they use live in support/."""

import subprocess

import pytest
from support.observatory import OBSERVATORY
from support.postgres import postgresql
from support.tools import need


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


@pytest.fixture(scope="module")
def database():
    """A PostgreSQL of the test module's own, from Debian's binaries, on loopback."""
    with postgresql() as server:
        yield server
