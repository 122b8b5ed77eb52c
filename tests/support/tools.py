"""The programs from Debian that some tests drive: skipped where missing, failed in CI."""

import os
import shutil

import pytest


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


def need_network_namespace():
    need("unshare", "util-linux")
    need("nsenter", "util-linux")
    need("ip", "iproute2")
    if os.geteuid() != 0:
        missing("a network namespace of the test's own needs root")
