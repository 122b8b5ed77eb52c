"""Deploy it, grown: a copy grown by every README recipe, put on a platform as the README
says, with SECRET_KEY the one variable the user sets. A platform does more than set
variables: it runs the release step in a container it then throws away, gives the web
process a disk of its own that the next deploy deletes, and stops old instances with
its own signal and time limit. Each "container" here is a fresh directory.
"""

import contextlib
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from support.extend import ADMIN, ADMIN_PASSWORD, CREATE_ADMIN, grown_copy
from support.net import free_port
from support.postgres import postgresql
from support.project import BIN, ROOT, STRONG_KEY, environment, run_hello
from support.servers import Server, honcho_procfile
from test_deploy_it_on_a_platform import PLATFORMS

PLATFORMS_PAGE = (ROOT / "docs" / "platforms.md").read_text()
GROWN_PROCFILE = re.search(r"(?m)^```\n(release: .*\nweb: .*)\n```$", PLATFORMS_PAGE)[1]
RELEASE = GROWN_PROCFILE.splitlines()[0].removeprefix("release:").strip()
FOREVER = "max-age=315360000, public, immutable"
REFUSED = (
    "hello.py: DATABASE_URL=<unset> is refused; on a platform, attach its PostgreSQL, "
    "or name a SQLite file on a volume it mounts: "
    "DATABASE_URL=sqlite:////data/db.sqlite3"
)


SLOW_VIEW = """
import time
from pathlib import Path


def slow(request):
    time.sleep(float(request.GET["seconds"]))
    return HttpResponse("done")


urlpatterns += [path("slow", slow)]
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """What a build makes of the repository: the grown copy, with the grown Procfile
    (and a view that takes its time, for the stops)."""
    directory = grown_copy(tmp_path_factory.mktemp("image"), code=SLOW_VIEW)
    (directory / "Procfile").write_text(GROWN_PROCFILE + "\n")
    return directory


def container(image, tmp_path, name):
    """A fresh container from the image: a disk of its own."""
    return shutil.copytree(image, tmp_path / name)


def in_container(directory, command, **variables):
    """`sh -c COMMAND` in a container, as a platform's release step or one-off runs it."""
    return subprocess.run(
        ["sh", "-c", command],
        cwd=directory,
        env=environment(**variables),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("name", PLATFORMS)
def test_without_database_url_every_command_and_gunicorn_refuse_to_start(
    image, tmp_path, name
):
    variables = {"SECRET_KEY": STRONG_KEY, **PLATFORMS[name][0]}
    directory = container(image, tmp_path, "release")
    for command in (RELEASE, "python hello.py check", "gunicorn hello --check-config"):
        done = in_container(directory, command, **variables)
        assert done.returncode != 0, command
        assert done.stderr.splitlines() == [REFUSED] or REFUSED in done.stderr, (
            command,
            done.stderr,
        )
    assert not (directory / "db.sqlite3").exists()


def test_a_sqlite_file_named_on_a_mounted_volume_is_used(image, tmp_path):
    volume = tmp_path / "data"
    volume.mkdir()
    variables = {
        "SECRET_KEY": STRONG_KEY,
        **PLATFORMS["fly.io"][0],
        "DATABASE_URL": f"sqlite:///{volume}/db.sqlite3",
        # The uploads recipe's files, on the same volume (docs/uploads.md).
        "MEDIA_ROOT": f"{volume}/media",
    }
    done = in_container(container(image, tmp_path, "release"), RELEASE, **variables)
    assert done.returncode == 0, done.stderr
    assert (volume / "db.sqlite3").stat().st_size > 0
    assert not (tmp_path / "release" / "db.sqlite3").exists()


def test_off_a_platform_sqlite_beside_hello_py_needs_no_server(image, tmp_path):
    directory = container(image, tmp_path, "laptop")
    done = run_hello("migrate", "--noinput", cwd=directory, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (directory / "db.sqlite3").stat().st_size > 0


def test_the_grown_procfile_runs_locally_as_the_platforms_page_says(image, tmp_path):
    command = re.search(
        r"(?m)^(honcho start release && honcho start web)$", PLATFORMS_PAGE
    )[1]
    directory = container(image, tmp_path, "laptop")
    argv = ["sh", "-c", command.replace("honcho", str(BIN / "honcho"))]
    server = Server(
        argv, environment(SECRET_KEY=STRONG_KEY), cwd=directory, isolated=True
    )
    try:
        server.wait_until_serving(5000, host="localhost", timeout=120)
        status, location = login(server, 5000, "localhost", scheme="http")
        output = server.output()
    finally:
        server.stop()
    # The release step migrated the database the web process serves: a wrong
    # password is answered as such, by the admin's form, not with a missing table.
    assert (status, location) == (200, None), output
    assert "release.1 stopped (rc=0)" in output, output
    assert (directory / "db.sqlite3").stat().st_size > 0


def login(server, port, host, scheme="https"):
    """Log in to the admin through the router: the status and where it leads."""
    router = {"host": host, "headers": {"X-Forwarded-Proto": scheme}}
    status, headers, page = server.request(port, path="/admin/login/", **router)
    assert status == 200, page
    cookie = headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = f"csrfmiddlewaretoken={token}&username={ADMIN['username']}"
    form += f"&password={ADMIN['password']}&next=/admin/"
    status, headers, _ = server.request(
        port,
        path="/admin/login/",
        method="POST",
        body=form,
        host=host,
        headers={
            "X-Forwarded-Proto": scheme,
            "Origin": f"{scheme}://{host}",
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    return status, headers.get("location")


def test_on_render_the_release_container_migrates_the_database_the_web_one_serves(
    image, tmp_path
):
    # Render's own variables, SECRET_KEY and the DATABASE_URL of its PostgreSQL.
    host = "hello-x1.onrender.com"
    render = {"RENDER": "true", "RENDER_EXTERNAL_HOSTNAME": host}
    with postgresql() as database:
        variables = {"SECRET_KEY": STRONG_KEY, **render}
        variables["DATABASE_URL"] = database.socket_url
        # Render's persistent disk, for the uploads recipe's files (docs/uploads.md).
        variables["MEDIA_ROOT"] = str(tmp_path / "disk" / "media")
        # The release step, and a one-off to make the administrator, each in a
        # container thrown away afterwards.
        release = container(image, tmp_path, "release")
        done = in_container(release, RELEASE, **variables)
        assert done.returncode == 0, done.stderr
        shutil.rmtree(release)
        one_off = container(image, tmp_path, "one-off")
        made = in_container(
            one_off,
            shlex.join(["python", "hello.py", *CREATE_ADMIN]),
            **ADMIN_PASSWORD,
            **variables,
        )
        assert made.returncode == 0, made.stderr
        shutil.rmtree(one_off)
        # The web process, in a container of its own that has never migrated.
        web, port = container(image, tmp_path, "web"), free_port()
        with honcho_procfile(port, procfile_dir=web, **variables) as server:
            status, location = login(server, port, host)
            up = server.request(port, path="/up", host="10.0.0.7:8080")
            router = {"host": host, "headers": {"X-Forwarded-Proto": "https"}}
            page = server.request(port, path="/", **router)[2]
            stylesheet = re.search(r'href="(/static/site\.[0-9a-f]{12}\.css)"', page)[1]
            styled = server.request(port, path=stylesheet, **router)
    assert (status, location) == (302, "/admin/"), "the login did not hold"
    assert up[::2] == (200, "up\n")
    assert (styled[0], styled[1]["cache-control"]) == (200, FOREVER)
    assert not (web / "db.sqlite3").exists()


# Each platform's stop: its signal, to whom, and when SIGKILL follows (Deploy's table,
# with Railway's and Fly.io's windows set as it says, to fit --graceful-timeout 20).
STOPS = {
    "heroku": ("SIGTERM", "every process", 30),
    "render": ("SIGTERM", "the main process", 30),
    "railway": ("SIGTERM", "the main process", 25),
    "fly.io": ("SIGTERM", "the main process", 25),
    "dokku": ("SIGTERM", "the main process", 30),
    "railway, by default": ("SIGTERM", "the main process", 3),
    "fly.io, by default": ("SIGINT", "the main process", 5),
}
IN_FLIGHT, SECONDS, SIGNALLED_AFTER = 6, 5, 1.5


def stop_as_the_platform_does(server, name, whom, window):
    """The platform's signal, then SIGKILL to every process once the window is over:
    Heroku's dyno goes once all its processes have exited, a container once its main
    process has. The main process's exit status (None if killed), and the time taken."""
    number, sent = getattr(signal, name), time.monotonic()
    if whom == "every process":
        os.killpg(server.pid, number)
        while time.monotonic() < sent + window and group_alive(server.pid):
            time.sleep(0.05)
    else:
        os.kill(server.pid, number)
    try:
        status = server.process.wait(timeout=max(0, sent + window - time.monotonic()))
    except subprocess.TimeoutExpired:
        status = None
    took = time.monotonic() - sent
    with contextlib.suppress(ProcessLookupError):  # none left
        os.killpg(server.pid, signal.SIGKILL)
    return status, took


def in_flight(server, port, count, timeout=20):
    """Once the server holds `count` connections on `port` (the kernel's count, `ss`,
    in its network namespace): the requests are in, however slow the machine is."""
    argv = server.inside("ss", "-Htn", "state", "established", f"( sport = :{port} )")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        if len(held.splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} requests reached the server")


def group_alive(group):
    """Whether a process of the group is alive, not a zombie."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            return True
    return False


@pytest.mark.parametrize("procfile", ["Procfile", "grown Procfile"])
@pytest.mark.parametrize("platform", STOPS)
def test_a_platforms_stop_loses_no_request_that_fits_its_window(
    image, tmp_path, platform, procfile
):
    name, whom, window = STOPS[platform]
    directory = container(image, tmp_path, "web")
    source = ROOT / "Procfile" if procfile == "Procfile" else directory / "Procfile"
    web = source.read_text().splitlines()[-1].removeprefix("web:").strip()
    port = free_port()
    variables = {"SECRET_KEY": STRONG_KEY, "PORT": str(port), "WEB_CONCURRENCY": "2"}
    variables["DATABASE_URL"] = f"sqlite:///{tmp_path}/db.sqlite3"
    variables["GUNICORN_CMD_ARGS"] = "--no-control-socket"
    # As a platform runs a start command: through a shell, in a container of its own.
    argv = ["sh", "-c", web]
    server = Server(argv, environment(**variables), cwd=directory, isolated=True)
    answers = []

    def visit():
        path = f"/slow?seconds={SECONDS}"
        try:
            answers.append(server.request(port, path=path, host="localhost")[::2])
        except OSError as error:
            answers.append(type(error).__name__)

    visitors = [threading.Thread(target=visit) for _ in range(IN_FLIGHT)]
    try:
        server.wait_until_serving(port, path="/up", timeout=120)
        for visitor in visitors:
            visitor.start()
        started = time.monotonic()
        in_flight(server, port, IN_FLIGHT)
        time.sleep(max(0, SIGNALLED_AFTER - (time.monotonic() - started)))
        status, took = stop_as_the_platform_does(server, name, whom, window)
        for visitor in visitors:
            visitor.join(timeout=60)
    finally:
        server.stop()
    answered = answers.count((200, "done"))
    print(
        f"\nfigures: stop on {platform}, {procfile}: {name} to {whom}, SIGKILL after "
        f"{window} s: {answered} of {IN_FLIGHT} requests in flight answered, "
        f"main process {'exited ' + str(status) if status is not None else 'killed'} "
        f"after {took:.1f} s"
    )
    if window >= 25:  # as the README sets it: every request gunicorn lets run fits
        assert (answered, status) == (IN_FLIGHT, 0), answers
    elif window < SECONDS - SIGNALLED_AFTER:  # Railway's default: too short for these
        assert answered == 0, answers
