"""Fixtures shared by the test files; the helpers they use live in support/."""

import subprocess

import pytest
from support.observatory import OBSERVATORY
from support.postgres import postgresql
from support.tools import need

# The fast selection, `python -m pytest tests -m fast`: the files that run hello.py in
# process, as commands, or as one server at a time, less the tests marked slow in them
# (installs from PyPI, Node.js's Observatory). docs/contributing.md says when to run it.
FAST_FILES = {
    "test_configure_it.py",
    "test_run_it.py",
    "test_deploy_it.py",
    "test_rename_it.py",
    "test_grow_it_recipe_by_recipe.py",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "fast: in the fast selection (conftest.py)")
    config.addinivalue_line("markers", "slow: left out of the fast selection")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in FAST_FILES and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.fast)


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
