"""Grow it: a copy of hello.py grown by the README's own "Grow it" recipes into chapter 2
of the book (templates, a stylesheet and a script from static/, images drawn by a view,
a form, the cache, ETags) and the admin, served as the Procfile serves it in production
behind nginx terminating TLS, and used in a real browser.
"""

import ast
import collections
import concurrent.futures
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from support.browser import chromium, violations
from support.extend import (
    ADMIN,
    ADMIN_PASSWORD,
    CREATE_ADMIN,
    VIEW_THAT_WAITS,
    docs_recipes,
    extended_copy,
    grown_copy,
)
from support.net import free_port, request
from support.observatory import failed_tests, observatory_scan
from support.project import (
    CHECK_CLEAN,
    PRODUCTION,
    ROOT,
    environment,
    run_hello,
    settings_of,
)
from support.servers import (
    Server,
    gunicorn_plain,
    gunicorn_procfile_options,
    nginx_argv,
)

FOREVER = "max-age=315360000, public, immutable"
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
    created = run(directory, *CREATE_ADMIN, **ADMIN_PASSWORD)
    assert created.returncode == 0, created.stderr
    return directory


def test_the_readme_lists_the_eight_recipes_each_a_page_with_code():
    recipes = docs_recipes()
    assert list(recipes) == [
        "Templates and static files",
        "A database",
        "The admin, its login guarded",
        "Your own models",
        "An API",
        "A shared cache",
        "Your own commands",
        "Uploads",
    ]
    # Each pastes settings, but the commands recipe, which is a file of its own.
    assert all(recipe.settings or recipe.files for recipe in recipes.values())
    assert set(recipes["Your own commands"].files) == {"management/commands/build.py"}
    assert "admin.site.urls" in recipes["The admin, its login guarded"].code
    models = recipes["Your own models"]
    assert "admin.site.register" in models.models
    assert set(models.files) == {"templates/sprints.html", "tests.py"}
    assert set(recipes["An API"].files) == {"templates/rest_framework/api.html"}


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


def test_in_a_browser_an_image_opened_on_its_own_shows_under_the_policy(site):
    # The policy comes with every response; the browser's own image viewer styles its
    # page inline, which the policy blocks, and still shows the image.
    with chromium() as browser:
        browser.get(f"{site}/image/120x80/")
        image = browser.find_element("tag name", "img")
        wait_for(lambda: browser.execute_script("return arguments[0].complete", image))
        assert browser.execute_script("return arguments[0].naturalWidth", image) == 120
        blocked = {violation.split()[0] for violation in violations(browser)}
    assert blocked <= {"style-src-elem", "style-src-attr"}, blocked


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


def log_in_to_the_admin(browser, site):
    browser.get(f"{site}/admin/")
    assert "/admin/login/" in browser.current_url
    assert violations(browser) == [], "login page"
    browser.find_element("name", "username").send_keys(ADMIN["username"])
    browser.find_element("name", "password").send_keys(ADMIN["password"])
    browser.find_element("css selector", "input[type=submit]").click()
    wait_for(lambda: "Site administration" in browser.title)
    assert violations(browser) == [], "admin index"


def test_in_a_browser_the_admin_logs_in_with_no_policy_violation(site):
    with chromium() as browser:
        log_in_to_the_admin(browser, site)
        for page in ("/admin/auth/user/1/change/", "/admin/auth/user/add/"):
            browser.get(f"{site}{page}")
            assert "Log in" not in browser.title, page
            assert browser.find_elements("css selector", "form"), page
            assert violations(browser) == [], page
        stylesheet = browser.execute_script(
            "return getComputedStyle(document.getElementById('header')).display"
        )
        assert stylesheet == "flex"  # the admin's own stylesheet applied


def test_in_a_browser_the_admin_adds_a_sprint_and_a_task_in_it(site):
    with chromium() as browser:
        log_in_to_the_admin(browser, site)
        browser.get(f"{site}/admin/hello/sprint/add/")
        browser.find_element("name", "name").send_keys("Admin's sprint")
        browser.find_element("name", "end").send_keys("2031-03-07")
        browser.find_element("name", "_save").click()
        wait_for(lambda: "Select sprint to change" in browser.title)
        assert "Admin's sprint" in browser.page_source
        browser.get(f"{site}/admin/hello/task/add/")
        browser.find_element("name", "name").send_keys("Plan it")
        sprint = browser.find_element("name", "sprint")
        sprint.find_element("xpath", 'option[. = "Admin\'s sprint"]').click()
        browser.find_element("name", "_save").click()
        wait_for(lambda: "Select task to change" in browser.title)
        assert "Plan it" in browser.page_source
        assert violations(browser) == []


def test_in_a_browser_the_sprint_form_adds_one_through_csrf_under_the_policy(site):
    with chromium() as browser:
        # The page asks a visitor to log in at the admin's login page first.
        browser.get(f"{site}/sprints/")
        assert "/admin/login/?next=/sprints/" in browser.current_url
        log_in_to_the_admin(browser, site)
        browser.get(f"{site}/sprints/")
        browser.find_element("name", "name").send_keys("Browser's sprint")
        browser.find_element("name", "end").send_keys("2031-04-04")
        browser.find_element("css selector", "form button").click()
        wait_for(lambda: "Browser's sprint, ending" in browser.page_source)
        assert browser.current_url == f"{site}/sprints/"
        assert violations(browser) == []
        # Twice the same end: the form says why, and the page lists it once.
        browser.find_element("name", "end").send_keys("2031-04-04")
        browser.find_element("css selector", "form button").click()
        wait_for(lambda: "already exists" in browser.page_source)
        assert browser.page_source.count("Browser's sprint, ending") == 1


def wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting in the browser"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def project_on_postgresql(tmp_path_factory, database):
    """The grown copy with a view that waits between two queries, on PostgreSQL."""
    code = VIEW_THAT_WAITS + BACKEND_VIEW
    directory = grown_copy(tmp_path_factory.mktemp("postgres"), code=code)
    release(directory, DATABASE_URL=database.url)
    return directory


# The PostgreSQL process serving this request's connection.
BACKEND_VIEW = """

def backend(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return HttpResponse(str(cursor.fetchone()[0]))


urlpatterns += [path("backend", backend)]
"""


def test_each_thread_keeps_its_connection_between_requests(
    project_on_postgresql, database
):
    # conn_max_age=600: one connection a thread, kept; 0 would open one a request.
    port, threads = free_port(), 5
    config = {**GROWN, "DATABASE_URL": database.url}
    with gunicorn_procfile_options(port, cwd=project_on_postgresql, **config):
        proto = {"X-Forwarded-Proto": "https"}
        backends = [
            request(port, "/backend", host="localhost", headers=proto)[2]
            for _ in range(40)
        ]
    print(f"\nfigures: 40 requests, one worker: {len(set(backends))} connections")
    assert 1 <= len(set(backends)) <= threads, backends


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


@pytest.fixture(scope="module")
def project_without_health_checks(tmp_path_factory, database):
    """The grown copy on PostgreSQL, its connections kept but never checked."""
    directory = grown_copy(tmp_path_factory.mktemp("unchecked"))
    text = (directory / "hello.py").read_text()
    assert text.count("conn_health_checks=True") == 1
    (directory / "hello.py").write_text(
        text.replace("conn_health_checks=True", "conn_health_checks=False")
    )
    release(directory, DATABASE_URL=database.url)
    return directory


@pytest.mark.parametrize("checked", [True, False], ids=["", "unchecked connections"])
def test_up_follows_postgresql_down_and_back_up(
    project_on_postgresql, project_without_health_checks, database, checked
):
    port = free_port()
    config = {**GROWN, "DATABASE_URL": database.url}
    project = project_on_postgresql if checked else project_without_health_checks
    with gunicorn_procfile_options(port, cwd=project, **config) as server:
        probe = {"host": "10.0.0.7:8080"}  # by address, over plain HTTP
        assert request(port, "/up", **probe)[::2] == (200, "up\n")
        database.pg_ctl("stop", "-m", "fast")
        try:
            before = server.output()
            assert request(port, "/up", **probe)[::2] == (503, "database unreachable\n")
            logged = server.output().removeprefix(before).splitlines()
            # psycopg's reasons run over two lines; the log gives each one.
            assert len(logged) == 1 and " ERROR django.request: /up: " in logged[0]
            if checked:  # a new connection refused, with psycopg's second line
                assert "Is the server running" in logged[0], logged
        finally:
            database.pg_ctl("start")
        # Checked, the next probe finds PostgreSQL back. Unchecked, a thread's stale
        # connection fails once more before it is replaced: 5 threads, so by the 6th.
        answers = [
            request(port, "/up", **probe)[::2] for _ in range(1 if checked else 6)
        ]
        assert (200, "up\n") in answers, answers


def test_mozilla_http_observatory_grades_the_grown_home_page_a_plus(
    tmp_path, project, observatory
):
    verdict = observatory_scan(tmp_path, observatory, cwd=project, **GROWN)
    scan = verdict["scan"]
    print(f"\nfigures: HTTP Observatory, grown: {scan['grade']} ({scan['score']})")
    assert (scan["grade"], failed_tests(verdict)) == ("A+", set())


@pytest.mark.parametrize(
    "ignores", [ROOT / ".gitignore", ROOT / "project_name" / ".gitignore"]
)
def test_git_add_commits_neither_the_database_nor_the_collected_files(
    tmp_path, ignores, project
):
    # The grown copy, released and with an administrator, as a repository of its own,
    # with an upload and a built page beside it.
    checkout = shutil.copytree(project, tmp_path / "checkout")
    shutil.copy(ignores, checkout / ".gitignore")
    assert (checkout / "db.sqlite3").exists() and (checkout / "staticfiles").is_dir()
    for made in ("media/upload.png", "build/index.html", "db.sqlite3-wal"):
        (checkout / made).parent.mkdir(exist_ok=True)
        (checkout / made).write_text("made by the site, not written by its author")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=checkout, check=True)
    subprocess.run([*git, "add", "."], cwd=checkout, check=True)
    added = subprocess.run(
        [*git, "diff", "--cached", "--name-only"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "hello.py" in added
    assert not [
        name
        for name in added
        if name.startswith(("db.sqlite3", "staticfiles/", "media/", "build/"))
    ], added


def pasted_right_after_what_they_extend(directory):
    """A copy of hello.py with each README recipe's settings pasted right after the last
    of hello.py's settings (and names) it uses, not at the marked place."""
    text = (ROOT / "hello.py").read_text()
    lines = text.splitlines(keepends=True)
    configure = next(
        n for n, line in enumerate(lines) if line.startswith("settings.configure(")
    )
    defined = {}  # name -> the line its definition ends on, above settings.configure
    for statement in ast.parse(text).body:
        if statement.lineno > configure:
            break
        # A comprehension's own names are no definitions of the module's.
        inner = {
            name.id
            for loop in ast.walk(statement)
            if isinstance(loop, ast.comprehension)
            for name in ast.walk(loop.target)
            if isinstance(name, ast.Name)
        }
        for node in ast.walk(statement):
            names = []
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names = [node.id]
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [(a.asname or a.name).split(".")[0] for a in node.names]
            for name in set(names) - inner:
                defined[name] = statement.end_lineno
    insertions, after = {}, 0
    for settings, *_ in docs_recipes().values():
        used = {n.id for n in ast.walk(ast.parse(settings)) if isinstance(n, ast.Name)}
        after = max([after, *(defined[name] for name in used if name in defined)])
        insertions[after] = insertions.get(after, "") + settings
    for line in sorted(insertions, reverse=True):
        lines.insert(line, insertions[line] + "\n")
    recipes = docs_recipes().values()
    return extended_copy(
        directory,
        models="".join(recipe.models for recipe in recipes),
        code="".join(recipe.code for recipe in recipes),
        source="".join(lines),
    )


def test_a_recipe_pasted_right_after_the_settings_it_extends_works_as_well(tmp_path):
    (tmp_path / "after").mkdir()
    (tmp_path / "marked").mkdir()
    everywhere = pasted_right_after_what_they_extend(tmp_path / "after")
    recipes = docs_recipes().values()
    marked = extended_copy(
        tmp_path / "marked",
        settings="".join(recipe.settings for recipe in recipes),
        models="".join(recipe.models for recipe in recipes),
        code="".join(recipe.code for recipe in recipes),
    )
    assert (everywhere / "hello.py").read_text() != (marked / "hello.py").read_text()
    grown = []
    for project in (everywhere, marked):
        (project / "static").mkdir()
        done = run_hello("check", cwd=project)
        assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN), done.stderr
        found = settings_of(cwd=project)
        grown.append(json.loads(json.dumps(found).replace(str(project), "BASE_DIR")))
    for name in (
        "INSTALLED_APPS",
        "MIDDLEWARE",
        "TEMPLATES",
        "AUTHENTICATION_BACKENDS",
    ):
        assert grown[0][name] == grown[1][name], name
