"""Serve it on your own server: the copy grown by every recipe, on the database recipe's
SQLite, under gunicorn.conf.py's workers and threads, behind nginx as
docs/own-server.md sets it up. Concurrent logins and writes lose nothing; the form,
the admin and the API keep one set of rules; the API's permissions can be narrowed
as its page shows; a body over the cap gets a 413, never a 502."""

import collections
import concurrent.futures
import shutil

import pytest
from support.extend import docs_recipes, grown_copy, log_in
from support.net import free_port, request
from support.project import PRODUCTION, ROOT, run_hello
from support.servers import Server, gunicorn_procfile_options, nginx_argv
from test_attack_it import send_headers_then_the_body

SERVED = {**PRODUCTION, "HTTPS_ONLY": "on", "ALLOWED_HOSTS": "localhost"}
PROXIED = {"X-Forwarded-Proto": "https"}

# A view that writes a row for each request, as a form or an API does.
WRITES = """
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def write_a_task(request):
    Task.objects.create(name=request.POST["name"])
    return HttpResponse("written")


urlpatterns += [path("write", write_a_task)]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The grown copy on SQLite beside it, migrated, with its static files."""
    directory = grown_copy(tmp_path_factory.mktemp("sqlite"), code=WRITES)
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        done = run_hello(*command, cwd=directory, timeout=120, **SERVED)
        assert done.returncode == 0, done.stderr
    return directory


def failed_admin_login(port, n):
    """Attempt n: a wrong password for one of 12 usernames, each from an address of
    its own, as the router names it: the status of the POST."""
    forwarded = {**PROXIED, "X-Forwarded-For": f"198.51.100.{n % 12}"}

    def send(path, **options):
        # Each attempt hashes a password, slowly by design: a busy machine takes time.
        return request(port, path, host="localhost", timeout=120, **options)

    origin = "https://localhost"
    guess = {"username": f"guess-{n % 12}", "password": f"wrong-{n}"}
    return log_in(send, origin, **guess, headers=forwarded)[0]


def write(port, n):
    headers = {**PROXIED, "Content-Type": "application/x-www-form-urlencoded"}
    body = f"name=task-{n}"
    return request(
        port, "/write", "POST", "localhost", headers=headers, body=body, timeout=120
    )[0]


COUNTED = """
from axes.models import AccessAttempt
from django.db.models import Sum
from hello import Task
attempts = AccessAttempt.objects.aggregate(n=Sum("failures_since_start"))["n"]
print(attempts, Task.objects.filter(name__startswith="task-").count())
"""


def test_on_sqlite_concurrent_failed_logins_and_writes_answer_no_500_and_lose_nothing(
    project,
):
    port = free_port()
    with gunicorn_procfile_options(port, workers=2, cwd=project, **SERVED) as server:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            logins = collections.Counter(
                pool.map(failed_admin_login, [port] * 48, range(48))
            )
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            writes = collections.Counter(pool.map(write, [port] * 160, range(160)))
        log = server.output()
    counted = run_hello("shell", "-c", COUNTED, cwd=project, **SERVED)
    attempts, rows = counted.stdout.split()[-2:]
    print(
        f"\nfigures: SQLite, 2 workers x 5 threads: 48 failed logins, 12 at a time "
        f"{dict(logins)}, {attempts} counted; 160 writes, 16 at a time "
        f"{dict(writes)}, {rows} rows"
    )
    assert logins == {200: 48} and writes == {200: 160}, log
    assert (attempts, rows) == ("48", "160")
    assert "database is locked" not in log


def test_the_form_the_admin_and_the_api_refuse_the_same_sprint_and_task(project):
    shutil.copy(
        ROOT / "tests" / "support" / "doors_tests.py", project / "doors_tests.py"
    )
    done = run_hello("test", "doors_tests", cwd=project, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Ran 6 tests" in done.stderr, done.stderr


# The API page's own block that lets the admin's permissions decide, then a test of it.
PERMITTED = """
import json

from django.contrib.auth.models import Permission, User
from django.test import TestCase

from hello import Sprint, Task


class PermissionTests(TestCase):
    def setUp(self):
        self.task = Task.objects.create(name="Plan")
        self.member = User.objects.create_user("member")
        self.client.force_login(self.member)

    def change(self):
        return self.client.patch(
            f"/api/tasks/{self.task.pk}/",
            json.dumps({"name": "Replanned"}),
            content_type="application/json",
        )

    def test_a_member_without_the_permission_reads_but_cannot_change(self):
        self.assertEqual(self.client.get("/api/tasks/").status_code, 200)
        self.assertEqual(self.change().status_code, 403)
        self.assertEqual(self.client.delete(f"/api/tasks/{self.task.pk}/").status_code, 403)
        self.assertEqual(Task.objects.get().name, "Plan")

    def test_a_member_granted_change_task_in_the_admin_can_change(self):
        granted = Permission.objects.get(codename="change_task")
        self.member.user_permissions.add(granted)
        self.assertEqual(self.change().status_code, 200)
        self.assertEqual(Task.objects.get().name, "Replanned")
"""


def test_the_api_pages_permission_block_leaves_changes_to_the_admins_permissions(
    tmp_path,
):
    (block,) = docs_recipes()["An API"].variants.values()
    project = grown_copy(tmp_path, settings=block)
    (project / "permissions_tests.py").write_text(PERMITTED)
    done = run_hello("test", "permissions_tests", cwd=project, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Ran 2 tests" in done.stderr, done.stderr


def test_behind_nginx_a_body_over_the_cap_gets_413_every_time(tmp_path):
    port, http = free_port(), free_port()
    size = 6 * 1024 * 1024
    head = (
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream"
        b"\r\nContent-Length: %d\r\n\r\n" % size
    )
    with gunicorn_procfile_options(port):
        proxy = Server(nginx_argv(tmp_path, [port], [f"127.0.0.1:{http}"], []), None)
        try:
            proxy.wait_until_serving(http, host="localhost")
            statuses = [
                send_headers_then_the_body(http, head, size, send_body=True)
                for _ in range(20)
            ]
        finally:
            proxy.stop()
    print(f"\nfigures: 6 MiB bodies behind nginx: {collections.Counter(statuses)}")
    assert statuses == [413] * 20
