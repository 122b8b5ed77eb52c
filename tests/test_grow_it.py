"""Grow it: a copy of hello.py grown by the README's own "Grow it" recipes into chapter 2
of the book (templates, a stylesheet and a script from static/, images drawn by a view,
a form, the cache, ETags) and the admin, served as the Procfile serves it in production
behind nginx terminating TLS, and used in a real browser.
"""

import collections
import concurrent.futures
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from support.browser import chromium, violations
from support.extend import VIEW_THAT_WAITS, grown_copy, readme_recipes
from support.net import free_port, request
from support.observatory import failed_tests, observatory_scan
from support.postgres import postgresql
from support.project import PRODUCTION, ROOT, STRONG_KEY, environment, run_hello
from support.servers import (
    Server,
    gunicorn_plain,
    gunicorn_procfile_options,
    honcho_procfile,
    nginx_argv,
)

FOREVER = "max-age=315360000, public, immutable"
ADMIN = {"username": "admin", "password": "a-password-for-the-tests-1234"}
GROWN = {**PRODUCTION, "HTTPS_ONLY": "on", "ALLOWED_HOSTS": "localhost"}


def run(project, *args, **config):
    """`python hello.py ARGS` in the grown `project`, in production; the finished process."""
    return run_hello(*args, cwd=project, timeout=120, **{**GROWN, **config})


def release(project, **config):
    """What the README's release step runs before the web process starts."""
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        done = run(project, *command, **config)
        assert done.returncode == 0, done.stderr


# What an injected tag would try; the policy must block each, and the browser say so.
INJECTED = """
def injected(request):
    return HttpResponse(
        "<!DOCTYPE html><html><body><p style='color: red'>injected</p>"
        "<script>document.body.dataset.inline = 'ran'</script>"
        "<img src='https://attacker.example/pixel.png'>"
        "<object data='/image/10x10/'></object><iframe src='/'></iframe></body></html>"
    )


urlpatterns += [path("injected", injected)]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The grown copy, released, with an administrator (and a page of injected tags)."""
    directory = grown_copy(tmp_path_factory.mktemp("grown"), code=INJECTED)
    release(directory)
    created = run(
        directory,
        "createsuperuser",
        "--noinput",
        "--username",
        ADMIN["username"],
        "--email",
        "admin@example.com",
        DJANGO_SUPERUSER_PASSWORD=ADMIN["password"],
    )
    assert created.returncode == 0, created.stderr
    return directory


def test_the_readme_has_the_three_recipes_each_with_code():
    recipes = readme_recipes()
    assert list(recipes) == ["Templates and static files", "A database", "The admin"]
    assert all(settings for settings, _ in recipes.values())
    assert "admin.site.urls" in recipes["The admin"][1]


@pytest.mark.parametrize(
    "command, output",
    [
        (["check", "--deploy", "--fail-level", "WARNING"], "no issues (1 silenced)"),
        (["migrate", "--noinput"], "No migrations to apply."),
        (["collectstatic", "--noinput"], "0 static files copied"),
        (
            [
                "shell",
                "-c",
                "from django.contrib.auth.models import User; print(User.objects.count())",
            ],
            "1",
        ),
        (["test"], ""),
    ],
)
def test_every_management_command_works_on_the_grown_copy(project, command, output):
    done = run(project, *command)
    assert done.returncode == 0, done.stderr
    assert output in done.stdout, done.stdout


def test_runserver_serves_the_grown_copy_with_its_static_files(project):
    port = free_port()
    argv = [sys.executable, "hello.py", "runserver", str(port), "--noreload"]
    server = Server(argv, environment(), cwd=project)
    try:
        status, _, body = server.wait_until_serving(port, host="localhost")
        assert status == 200 and "Django Placeholder Images" in body
        assert request(port, "/static/site.css", host="localhost")[0] == 200
        assert request(port, "/admin/login/", host="localhost")[0] == 200
    finally:
        server.stop()


@pytest.mark.parametrize("preload", [[], ["--preload"]], ids=["", "--preload"])
def test_gunicorn_serves_the_admin_with_and_without_preload(project, preload):
    port = free_port()
    with gunicorn_plain(port, *preload, cwd=project, **GROWN):
        proto = {"X-Forwarded-Proto": "https"}
        status, _, body = request(
            port, "/admin/login/", host="localhost", headers=proto
        )
        assert status == 200 and 'name="password"' in body


@contextmanager
def served_behind_tls(project, **config):
    """The grown copy under the Procfile's gunicorn (2 workers), behind nginx on HTTPS:
    the https:// URL of its home page."""
    port, https = free_port(), free_port()
    with gunicorn_procfile_options(port, workers=2, cwd=project, **{**GROWN, **config}):
        tmp = project / f"nginx-{https}"
        tmp.mkdir()
        argv = nginx_argv(tmp, [port], http=[], https=[f"127.0.0.1:{https}"])
        proxy = Server(argv, env=None)
        try:
            proxy.wait_until_serving(https, host="localhost", tls=True)
            yield f"https://localhost:{https}"
        finally:
            proxy.stop()
            shutil.rmtree(tmp)


@pytest.fixture(scope="module")
def site(project):
    with served_behind_tls(project) as url:
        yield url


def https(url, path, headers=None):
    port = int(url.rsplit(":", 1)[1])
    return request(port, path, host=f"localhost:{port}", headers=headers, tls=True)


def test_static_files_have_hashed_names_far_future_caching_and_compression(site):
    status, _, page = https(site, "/")
    assert status == 200
    stylesheet = re.search(r'href="(/static/site\.[0-9a-f]{12}\.css)"', page)[1]
    status, headers, body = https(site, stylesheet)
    assert status == 200 and "rgb(0, 102, 51)" in body
    assert headers["cache-control"] == FOREVER
    status, headers, _ = https(site, stylesheet, {"Accept-Encoding": "gzip"})
    assert (status, headers["content-encoding"]) == (200, "gzip")


def test_the_placeholder_view_draws_refuses_and_revalidates(site):
    status, headers, _ = https(site, "/image/120x80/")
    assert (status, headers["content-type"]) == (200, "image/png")
    etag = headers["etag"]
    assert https(site, "/image/120x80/", {"If-None-Match": etag})[0] == 304
    assert https(site, "/image/0x50/")[0] == 400
    assert https(site, "/image/5000x50/")[0] == 400


def test_in_a_browser_the_site_loads_its_own_files_and_the_policy_blocks_nothing(site):
    with chromium() as browser:
        browser.get(f"{site}/")
        heading = browser.find_element("tag name", "h1")
        assert heading.value_of_css_property("color") == "rgba(0, 102, 51, 1)"
        wait_for(lambda: browser.execute_script("return document.body.dataset.script"))
        example = browser.find_element("id", "example")
        wait_for(
            lambda: browser.execute_script("return arguments[0].complete", example)
        )
        assert browser.execute_script("return arguments[0].naturalWidth", example) == 50
        assert violations(browser) == []


def test_in_a_browser_the_policy_blocks_inline_code_other_origins_plugins_frames(site):
    with chromium() as browser:
        browser.get(f"{site}/injected")
        wait_for(lambda: len(violations(browser)) >= 5)
        assert browser.execute_script("return document.body.dataset.inline") is None
        blocked = {violation.split()[0] for violation in violations(browser)}
    assert blocked == {
        "style-src-attr",
        "script-src-elem",
        "img-src",
        "object-src",
        "frame-src",
    }


def test_in_a_browser_the_admin_logs_in_with_no_policy_violation(site):
    with chromium() as browser:
        browser.get(f"{site}/admin/")
        assert "/admin/login/" in browser.current_url
        assert violations(browser) == [], "login page"
        browser.find_element("name", "username").send_keys(ADMIN["username"])
        browser.find_element("name", "password").send_keys(ADMIN["password"])
        browser.find_element("css selector", "input[type=submit]").click()
        wait_for(lambda: "Site administration" in browser.title)
        assert violations(browser) == [], "admin index"
        for page in ("/admin/auth/user/1/change/", "/admin/auth/user/add/"):
            browser.get(f"{site}{page}")
            assert "Log in" not in browser.title, page
            assert browser.find_elements("css selector", "form"), page
            assert violations(browser) == [], page
        stylesheet = browser.execute_script(
            "return getComputedStyle(document.getElementById('header')).display"
        )
        assert stylesheet == "flex"  # the admin's own stylesheet applied


def wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting in the browser"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def database():
    with postgresql() as server:
        yield server


@pytest.fixture(scope="module")
def project_on_postgresql(tmp_path_factory, database):
    """The grown copy with a view that waits between two queries, on PostgreSQL."""
    directory = grown_copy(tmp_path_factory.mktemp("postgres"), code=VIEW_THAT_WAITS)
    release(directory, DATABASE_URL=database.url)
    return directory


def visit_all(port, count, at_once=30):
    """`count` requests to /visits, `at_once` at a time: how many got each answer."""

    def visit(_):
        headers = {"X-Forwarded-Proto": "https"}
        try:
            return request(port, "/visits", host="localhost", headers=headers)[::2]
        except OSError as error:
            return type(error).__name__

    with concurrent.futures.ThreadPoolExecutor(at_once) as pool:
        return collections.Counter(pool.map(visit, range(count)))


def test_postgresql_holds_the_procfiles_load_and_survives_a_restart(
    project_on_postgresql, database
):
    port, workers, threads = free_port(), 2, 5
    config = {**GROWN, "DATABASE_URL": database.url}
    with gunicorn_procfile_options(
        port, workers=workers, cwd=project_on_postgresql, **config
    ):
        peak, done = [0], threading.Event()

        def watch():  # the most connections PostgreSQL saw during the load
            while not done.wait(0.05):
                peak[0] = max(peak[0], database.client_connections())

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            before = visit_all(port, 300)
        finally:
            done.set()
            watcher.join()
        database.pg_ctl("restart", "-m", "fast")
        after = visit_all(port, 60)
    print(
        f"\nfigures: PostgreSQL: 300 requests {dict(before)}, at most {peak[0]} "
        f"connections; after a restart, 60 requests {dict(after)}"
    )
    assert before == {(200, "2 queries"): 300}
    assert 0 < peak[0] <= workers * threads
    assert after == {(200, "2 queries"): 60}


def test_up_follows_postgresql_down_and_back_up(project_on_postgresql, database):
    port = free_port()
    config = {**GROWN, "DATABASE_URL": database.url}
    with gunicorn_procfile_options(port, cwd=project_on_postgresql, **config) as server:
        probe = {"host": "10.0.0.7:8080"}  # by address, over plain HTTP
        assert request(port, "/up", **probe)[::2] == (200, "up\n")
        database.pg_ctl("stop", "-m", "fast")
        try:
            assert request(port, "/up", **probe)[::2] == (503, "database unreachable\n")
            assert "ERROR django.request: /up: connection failed:" in server.output()
        finally:
            database.pg_ctl("start")
        assert request(port, "/up", **probe)[::2] == (200, "up\n")


def test_mozilla_http_observatory_grades_the_grown_home_page_a_plus(
    tmp_path, project, observatory
):
    verdict = observatory_scan(tmp_path, observatory, cwd=project, **GROWN)
    scan = verdict["scan"]
    print(f"\nfigures: HTTP Observatory, grown: {scan['grade']} ({scan['score']})")
    assert (scan["grade"], failed_tests(verdict)) == ("A+", set())


GROWN_PROCFILE = re.search(
    r"(?m)^```\n(release: .*\nweb: .*)\n```$", (ROOT / "README.md").read_text()
)[1]


def test_the_grown_procfile_releases_then_serves_on_a_platform(tmp_path):
    # As Render runs it, with SECRET_KEY the one variable set: the release command in a
    # process of its own, then the web process, which collects the static files.
    project = grown_copy(tmp_path)
    (project / "Procfile").write_text(GROWN_PROCFILE + "\n")
    release_command = GROWN_PROCFILE.splitlines()[0].removeprefix("release:")
    platform = {"SECRET_KEY": STRONG_KEY, "RENDER": "true"}
    platform["RENDER_EXTERNAL_HOSTNAME"] = host = "hello-x1.onrender.com"
    done = subprocess.run(
        ["sh", "-c", release_command],
        cwd=project,
        env=environment(**platform),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    port = free_port()
    with honcho_procfile(port, procfile_dir=project, **platform) as server:
        router = {"host": host, "headers": {"X-Forwarded-Proto": "https"}}
        status, _, page = server.request(port, path="/", **router)
        assert status == 200 and "Django Placeholder Images" in page
        stylesheet = re.search(r'href="(/static/site\.[0-9a-f]{12}\.css)"', page)[1]
        status, headers, _ = server.request(port, path=stylesheet, **router)
        assert (status, headers["cache-control"]) == (200, FOREVER)
        status, _, body = server.request(port, path="/admin/login/", **router)
        assert status == 200 and 'name="password"' in body
