"""Benchmark hello.py against its peers, each served by the same gunicorn configuration.

The peers: a bare WSGI app, Flask bare and hardened to hello.py's protections, Django's
startproject and the single-file Django projects.

    pip install -r tests/benchmark/requirements.txt   # and: apt-get install wrk
    python tests/benchmark/run.py [--rounds 3] [--seconds 5]
    python tests/benchmark/run.py --fortunes   # as root, with Debian's postgresql

Every app is served by the same gunicorn configuration, on loopback, first as one
sync worker, then as the Procfile configures it. In each round every app is started
afresh (time from exec to the first 200), warmed up, loaded with wrk and measured
(worker memory), then stopped by its PID; rounds interleave the apps, and the ratios
compare apps within the same round, since these machines are shared and noisy.

--fortunes runs TechEmpower's Fortunes test instead, on a PostgreSQL of its own under
the Procfile's configuration: hello.py grown by every README recipe against hardened
Flask with SQLAlchemy and Jinja.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))
from support.extend import DATABASE, VIEW_THAT_WAITS, extended_copy, grown_copy
from support.net import free_port
from support.postgres import postgresql
from support.procfile import gunicorn_options
from support.servers import Server

SECRET_KEY = "benchmark-" + "k3y" * 20

# Placeholder images of sizes drawn at random, so that nearly every one misses the cache.
RANDOM_IMAGES = """
math.randomseed(os.time())
request = function()
  local size = string.format("/image/%dx%d/", math.random(100, 400), math.random(100, 400))
  return wrk.format(nil, size)
end
"""


def startproject(directory):
    """Django's default project with a hello view, in production mode."""
    django_admin = BIN / "django-admin"
    subprocess.run([django_admin, "startproject", "baseline", directory], check=True)
    package = Path(directory) / "baseline"
    (package / "views.py").write_text(
        "from django.http import HttpResponse\n\n\ndef index(request):\n    return HttpResponse('Hello World')\n"
    )
    urls = package / "urls.py"
    urls.write_text(
        urls.read_text()
        + "\nfrom .views import index\n\nurlpatterns.append(path('', index))\n"
    )
    settings = package / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\nDEBUG = False\nALLOWED_HOSTS = ['localhost', '127.0.0.1']\nSECRET_KEY = "
        + repr(SECRET_KEY)
        + "\n"
    )


def grown(directory):
    """hello.py grown by the README's recipes into chapter 2 and the admin, released
    (collectstatic, migrate); the URL of its stylesheet, by its hashed name."""
    grown_copy(Path(directory))
    env = {**os.environ, "DEBUG": "off", "SECRET_KEY": SECRET_KEY}
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        argv = [sys.executable, "hello.py", *command]
        subprocess.run(argv, cwd=directory, env=env, check=True, capture_output=True)
    manifest = Path(directory) / "staticfiles" / "staticfiles.json"
    return "/static/" + json.loads(manifest.read_text())["paths"]["site.css"]


# TechEmpower's Fortunes test: their twelve rows, and the one each request adds.
FORTUNES = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. \u2014 Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    '<script>alert("This should not be displayed in a browser alert box.");</script>',
    "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af",
]
FORTUNE_MODEL = """
class Fortune(models.Model):
    message = models.CharField(max_length=2048)

    class Meta:
        db_table = "fortune"
"""
FORTUNES_VIEW = """
from django.shortcuts import render


def fortunes(request):
    rows = list(Fortune.objects.all())
    rows.append(Fortune(id=0, message="Additional fortune added at request time."))
    rows.sort(key=lambda fortune: fortune.message)
    return render(request, "fortunes.html", {"fortunes": rows})


urlpatterns += [path("fortunes", fortunes)]
"""


def fortunes_apps(directory, database):
    """The Fortunes test served by hello.py grown by every recipe, its model and a
    Django template, and by hardened Flask with SQLAlchemy and Jinja, from the same
    rows in the same PostgreSQL; each page checked to hold the thirteen rows, escaped."""
    grown_copy(Path(directory), models=FORTUNE_MODEL, code=FORTUNES_VIEW)
    shutil.copy(APPS / "templates" / "fortunes.html", Path(directory) / "templates")
    production = {
        "DEBUG": "off",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database.url,
    }
    argv = [sys.executable, "hello.py", "migrate", "--noinput"]
    env = {**os.environ, **production}
    subprocess.run(argv, cwd=directory, env=env, check=True, capture_output=True)
    values = ", ".join("('" + message.replace("'", "''") + "')" for message in FORTUNES)
    database.query(f"INSERT INTO fortune (message) VALUES {values}")
    app_set = {
        "Flask hardened": (APPS, "flask_fortunes:app", production, "/fortunes"),
        "hello.py": (
            directory,
            "hello",
            {**production, "HTTPS_ONLY": "on"},
            "/fortunes",
        ),
    }
    for name, (cwd, target, env, path) in app_set.items():
        port = free_port()
        argv = [str(BIN / "gunicorn"), target, "--bind", f"127.0.0.1:{port}"]
        server = Server(argv, {**os.environ, **env}, cwd=cwd)
        try:
            status, _, page = server.wait_until_serving(
                port, path=path, headers={"X-Forwarded-Proto": "https"}
            )
        finally:
            server.stop()
        rows = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", page)
        assert status == 200 and len(rows) == 13, (name, page)
        assert rows[0][0] == "11" and "&lt;script&gt;" in rows[0][1], (name, rows[0])
    return app_set


# The API's list two more ways in the same grown copy: DRF's own viewset with no
# authentication, and the same JSON from a plain Django view.
API_VIEWS = """
from django.http import JsonResponse
from rest_framework.permissions import AllowAny


class OpenTaskViewSet(TaskViewSet):
    authentication_classes = []
    permission_classes = [AllowAny]


def tasks_json(request):
    tasks = Task.objects.select_related("assigned").order_by("id")
    count, url = tasks.count(), request.build_absolute_uri
    results = [
        {
            "url": url(f"/api/tasks/{task.id}/"),
            "id": task.id,
            "name": task.name,
            "description": task.description,
            "sprint": task.sprint_id and url(f"/api/sprints/{task.sprint_id}/"),
            "status": task.status,
            "status_display": task.get_status_display(),
            "order": task.order,
            "assigned": task.assigned and task.assigned.username,
            "started": task.started,
            "due": task.due,
            "completed": task.completed,
        }
        for task in tasks[:20]
    ]
    following = url("/api/tasks/?page=2") if count > 20 else None
    page = {"count": count, "next": following, "previous": None, "results": results}
    return JsonResponse(page)


urlpatterns += [
    path("open/tasks/", OpenTaskViewSet.as_view({"get": "list"})),
    path("json/tasks/", tasks_json),
]
"""
# A board to list: 5 users, 10 sprints, 100 tasks among them.
BOARD = """
import datetime
from django.contrib.auth.models import User
from hello import Sprint, Task

users = [User.objects.create_user(f"user{n}") for n in range(5)]
sprints = [Sprint.objects.create(name=f"Sprint {n}", end=datetime.date(2040, 1, 1 + n)) for n in range(10)]
for n in range(100):
    Task.objects.create(
        name=f"Task {n}", description="Something to do. " * (n % 4), sprint=sprints[n % 10],
        status=1 + n % 2, assigned=users[n % 5], due=datetime.date(2040, 2, 1 + n % 28),
    )
"""


def api_apps(directory, database):
    """The API's first page of tasks: DRF with a token, DRF without authentication, a
    plain Django view, all in the grown copy, and hardened Flask with SQLAlchemy; the
    JSON each gives checked to be the same."""
    grown_copy(Path(directory), code=API_VIEWS)
    production = {
        "DEBUG": "off",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database.url,
    }
    env = {**os.environ, **production}
    for command in (["migrate", "--noinput"], ["shell", "-c", BOARD]):
        argv = [sys.executable, "hello.py", *command]
        subprocess.run(argv, cwd=directory, env=env, check=True, capture_output=True)
    argv = [sys.executable, "hello.py", "shell", "-c"]
    argv += [
        "from rest_framework.authtoken.models import Token; from django.contrib.auth.models import User; print(Token.objects.create(user=User.objects.get(username='user0')).key)"
    ]
    done = subprocess.run(
        argv, cwd=directory, env=env, check=True, capture_output=True, text=True
    )
    token = {"Authorization": f"Token {done.stdout.split()[-1]}"}
    hello = {**production, "HTTPS_ONLY": "on"}
    app_set = {
        "Flask hardened": (APPS, "flask_api:app", production, "/api/tasks/", None, {}),
        "hello.py: DRF, token": (directory, "hello", hello, "/api/tasks/", None, token),
        "hello.py: DRF, no authentication": (directory, "hello", hello, "/open/tasks/"),
        "hello.py: JsonResponse": (directory, "hello", hello, "/json/tasks/"),
    }
    pages = []
    for name, (cwd, target, env, path, *rest) in app_set.items():
        port = free_port()
        argv = [str(BIN / "gunicorn"), target, "--bind", f"127.0.0.1:{port}"]
        server = Server(argv, {**os.environ, **env}, cwd=cwd)
        headers = {"X-Forwarded-Proto": "https", **(rest[1] if len(rest) > 1 else {})}
        try:
            status, _, page = server.wait_until_serving(
                port, path=path, host="localhost", headers=headers
            )
        finally:
            server.stop()
        assert status == 200, (name, page)
        page = json.loads(page)
        assert page["count"] == 100 and len(page["results"]) == 20, (name, page)
        pages.append((page["count"], page["results"]))
    assert all(page == pages[0] for page in pages), "the pages differ"
    return app_set


def apps(baseline_dir, waiting_dir=None, grown_dir=None, stylesheet=None):
    """name -> (directory to run in, gunicorn app, environment, path to load[, wrk
    script]). Only apps loaded at "/" answer Hello World, and only they get ratios.

    hello.py and hardened Flask run as behind a platform's HTTPS router: wrk says
    X-Forwarded-Proto: https, which they trust, and the others ignore.
    """
    production = {"DEBUG": "off", "SECRET_KEY": SECRET_KEY}
    behind_https = {**production, "HTTPS_ONLY": "on"}
    return {
        "bare WSGI": (APPS, "bare:application", {}, "/"),
        "Flask": (APPS, "flask_hello:app", {}, "/"),
        "Flask hardened": (APPS, "flask_hardened:app", production, "/"),
        "hello.py": (ROOT, "hello", behind_https, "/"),
        "startproject": (baseline_dir, "baseline.wsgi", {}, "/"),
        "django-singlefile": (
            APPS,
            "singlefile_hello:app",
            {"DJANGO_SECRET_KEY": SECRET_KEY},
            "/",
        ),
        "nanodjango": (APPS, "nanodjango_hello:app", {"SECRET_KEY": SECRET_KEY}, "/"),
        # hello.py with a database and a view that waits 50 ms on it (tests/extend.py).
        "hello.py with a waiting view": (
            waiting_dir,
            "hello",
            behind_https,
            "/visits",
        ),
        # The same, grown by the README's recipes into chapter 2 (tests/grown/).
        "grown: home page": (grown_dir, "hello", behind_https, "/"),
        "grown: stylesheet": (grown_dir, "hello", behind_https, stylesheet),
        "grown: image, cached": (grown_dir, "hello", behind_https, "/image/120x80/"),
        "grown: image, drawn": (
            grown_dir,
            "hello",
            behind_https,
            "/image/64x64/",
            RANDOM_IMAGES,
        ),
    }


def memory_kib(pid):
    """(PSS, USS) of one process in KiB: its fair share, and what it alone holds."""
    fields = {
        line.split(":")[0]: int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    }
    return fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]


def children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def wrk(port, seconds, connections, path="/", script=None, headers=None):
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    headers = headers or {"X-Forwarded-Proto": "https"}
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script or "")
        lua.flush()
        argv += ["-s", lua.name]
        argv += [part for k, v in headers.items() for part in ("-H", f"{k}: {v}")]
        out = subprocess.run(
            [*argv, f"http://127.0.0.1:{port}{path}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout

    def latency_ms(label):
        value, unit = re.search(
            rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE
        ).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out)[1]),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": latency_ms("50%"),
        "p99": latency_ms("99%"),
        "errors": (sum(map(int, errors.groups())) if errors else 0)
        + (int(non_2xx[1]) if non_2xx else 0),
    }


def measure(name, app, options, seconds, connections):
    directory, target, env, path, *rest = app
    script = rest[:1] if rest and rest[0] else []
    headers = {"X-Forwarded-Proto": "https", **(rest[1] if len(rest) > 1 else {})}
    port = free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env}
    argv = [
        BIN / "gunicorn",
        target,
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        *options,
    ]
    started = time.perf_counter()
    server = Server([str(part) for part in argv], env, cwd=directory)
    try:
        while True:
            if server.process.poll() is not None or time.perf_counter() - started > 30:
                raise RuntimeError(f"{name} did not start")
            try:
                ready = urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", headers=headers
                )
                with urllib.request.urlopen(ready, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.005)
        first_200_ms = (time.perf_counter() - started) * 1000
        wrk(port, 1, connections, path, *script, headers=headers)  # warm-up
        result = wrk(port, seconds, connections, path, *script, headers=headers)
        workers = children(server.pid)
        result["pss"], result["uss"] = (
            statistics.mean(m) / 1024 for m in zip(*map(memory_kib, workers))
        )
        result["first_200"] = first_200_ms
        return result
    finally:
        server.stop()


def benchmark(title, options, app_set, rounds, seconds, connections):
    names = list(app_set)
    results = {name: [] for name in names}
    for round_number in range(rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in order:
            results[name].append(
                measure(name, app_set[name], options, seconds, connections)
            )
    print(
        f"\n### {title}: gunicorn {' '.join(options)}; wrk -t1 -c{connections}, {rounds} rounds of {seconds} s\n"
    )
    baselines = ("bare WSGI", "Flask", "Flask hardened")
    print(
        "| app | req/s (median) | spread | × bare WSGI | × Flask | × Flask hardened "
        "| p50 | p99 | errors | first 200 | worker PSS | worker USS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        runs = results[name]
        rps = [r["rps"] for r in runs]
        ratios = [
            statistics.median(r["rps"] / b["rps"] for r, b in zip(runs, results[base]))
            # Only between apps answering the same page, and in the same round.
            if base in results and not name.startswith(("hello.py with", "grown"))
            else None
            for base in baselines
        ]
        print(
            f"| {name} | {statistics.median(rps):.0f} | {min(rps):.0f}–{max(rps):.0f} | "
            + " | ".join("–" if r is None else f"{r:.3f}" for r in ratios)
            + f" | {statistics.median(r['p50'] for r in runs):.2f} ms | {statistics.median(r['p99'] for r in runs):.2f} ms "
            f"| {sum(r['errors'] for r in runs)} | {statistics.median(r['first_200'] for r in runs):.0f} ms "
            f"| {statistics.median(r['pss'] for r in runs):.1f} MB | {statistics.median(r['uss'] for r in runs):.1f} MB |"
        )
    sys.stdout.flush()
    return {
        name: (
            statistics.median(r["rps"] for r in runs),
            statistics.median(r["p99"] for r in runs),
        )
        for name, runs in results.items()
    }


def chart(title, medians):
    """An SVG drawing of one table: req/s and p99 a bar each, an app a row."""
    row, label, bar, gap = 22, 190, 230, 80
    most = [max(values[i] for values in medians.values()) for i in (0, 1)]
    width, height = label + 2 * (bar + gap), 50 + row * len(medians)

    def text(x, y, words, weight="normal"):
        return f'<text x="{x:.0f}" y="{y}" font-weight="{weight}">{words}</text>'

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        '<g font-family="sans-serif" font-size="12">',
        text(8, 18, title, "bold"),
        text(label, 38, "requests a second (more is better)"),
        text(label + bar + gap, 38, "p99 latency (less is better)"),
    ]
    for i, (name, values) in enumerate(medians.items()):
        y = 46 + i * row
        svg.append(text(8, y + 13, name))
        colour = "#1a7f37" if name == "hello.py" else "#6e7781"
        for x, value, peak, shown in zip(
            (label, label + bar + gap), values, most, ("{:.0f}", "{:.1f} ms")
        ):
            length = bar * value / peak
            svg.append(f'<rect x="{x}" y="{y}" width="{length:.1f}" height="16" ')
            svg[-1] += f'fill="{colour}"/>'
            svg.append(text(x + length + 4, y + 13, shown.format(value)))
    return "\n".join([*svg, "</g>", "</svg>", ""])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--seconds", type=int, default=5, help="of load per app per round"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", help="comma-separated app names")
    parser.add_argument(
        "--before",
        metavar="DIR",
        help='also "hello.py before": the hello.py in DIR, e.g. a worktree of a commit',
    )
    parser.add_argument(
        "--svg", metavar="PREFIX", help="also draw each table as PREFIX-N.svg"
    )
    parser.add_argument(
        "--config",
        action="append",
        metavar="TITLE=OPTIONS",
        help="gunicorn options to compare, instead of one sync worker and the Procfile's",
    )
    parser.add_argument(
        "--api",
        action="store_true",
        help="the API's list on PostgreSQL: DRF against Django and hardened Flask",
    )
    parser.add_argument(
        "--fortunes",
        action="store_true",
        help="TechEmpower's Fortunes on PostgreSQL: hello.py against hardened Flask",
    )
    args = parser.parse_args()
    if args.api or args.fortunes:
        with tempfile.TemporaryDirectory() as directory, postgresql() as database:
            if args.api:
                app_set = api_apps(directory, database)
                title = "The API's list on PostgreSQL, the Procfile's configuration"
            else:
                app_set = fortunes_apps(directory, database)
                title = "Fortunes on PostgreSQL, the Procfile's configuration"
            medians = benchmark(
                title,
                gunicorn_options(),
                app_set,
                args.rounds,
                args.seconds,
                args.connections,
            )
            if args.api:
                drf = medians["hello.py: DRF, no authentication"][0]
                plain = medians["hello.py: JsonResponse"][0]
                print(
                    f"\nDRF's list against the same JSON from Django: {drf / plain:.3f}"
                )
        return
    with (
        tempfile.TemporaryDirectory() as baseline_dir,
        tempfile.TemporaryDirectory() as waiting_dir,
        tempfile.TemporaryDirectory() as grown_dir,
    ):
        startproject(baseline_dir)
        extended_copy(Path(waiting_dir), settings=DATABASE, code=VIEW_THAT_WAITS)
        app_set = apps(baseline_dir, waiting_dir, grown_dir, grown(grown_dir))
        if args.before:
            app_set["hello.py before"] = (Path(args.before), *app_set["hello.py"][1:])
        if args.only:
            keep = {"bare WSGI", "Flask", "Flask hardened", *args.only.split(",")}
            keep |= {"hello.py before"} if args.before else set()
            app_set = {name: app for name, app in app_set.items() if name in keep}
        print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}", end="; ")
        import django
        import gunicorn

        print(f"Django {django.__version__}; gunicorn {gunicorn.__version__}")
        django_version = f"Python {sys.version.split()[0]}, Django {django.__version__}"
        configurations = [
            # gunicorn turns sync into gthread where gunicorn.conf.py gives threads.
            (
                "one sync worker",
                ["--worker-class", "sync", "--workers", "1", "--threads", "1"],
            ),
            ("the Procfile's configuration", gunicorn_options()),
        ]
        if args.config:
            configurations = [
                (title, shlex.split(options))
                for title, options in (config.split("=", 1) for config in args.config)
            ]
        for number, (title, options) in enumerate(configurations, 1):
            medians = benchmark(
                title, options, app_set, args.rounds, args.seconds, args.connections
            )
            if args.svg:
                compared = {n: m for n, m in medians.items() if "waiting" not in n}
                drawing = chart(f"{title}, {django_version}", compared)
                Path(f"{args.svg}-{number}.svg").write_text(drawing)


if __name__ == "__main__":
    main()
