"""Time each app's WSGI callable in process, with no server and no socket: the cost of
the request path alone, in microseconds per request.

    pip install -r tests/benchmark/requirements.txt
    python tests/benchmark/in_process.py [--rounds 5] [--requests 20000]
    python tests/benchmark/in_process.py --profile hello.py   # cProfile of hello.py's path
    python tests/benchmark/in_process.py --before DIR   # and DIR's hello.py, e.g. a worktree

Each app runs in a process of its own, configured as run.py configures it, answering
`GET /` for Host localhost behind an HTTPS proxy (X-Forwarded-Proto: https). Rounds
interleave the apps, and the ratios compare apps within the same round.
"""

import argparse
import cProfile
import importlib
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import ROOT, apps

ENVIRON = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/",
    "RAW_URI": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "localhost",
    "HTTP_X_FORWARDED_PROTO": "https",
    "REMOTE_ADDR": "127.0.0.1",
    "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0),
    "wsgi.multithread": True,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}


def serve(application, requests):
    statuses = []
    for _ in range(requests):
        environ = {**ENVIRON, "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr}
        response = application(environ, lambda status, headers: statuses.append(status))
        b"".join(response)
        if hasattr(response, "close"):  # as a WSGI server must
            response.close()
    assert set(statuses) == {"200 OK"}, set(statuses)


def child(target, requests, profile):
    module, _, name = target.partition(":")
    application = getattr(importlib.import_module(module), name or "application")
    serve(application, 1000)  # warm up
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(serve, application, requests)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return
    started = time.perf_counter()
    serve(application, requests)
    print(json.dumps((time.perf_counter() - started) / requests * 1e6))


def run_child(app, requests, profile=False):
    directory, target, env, _ = app
    code = "import sys, in_process as p; p.child(sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1')"
    done = subprocess.run(
        [sys.executable, "-c", code, target, str(requests), "1" if profile else "0"],
        cwd=directory,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)]),
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout if profile else json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--profile", metavar="APP", help="print a cProfile of APP")
    parser.add_argument(
        "--before", metavar="DIR", help="also hello.py in DIR: another commit's"
    )
    args = parser.parse_args()
    app_set = {
        name: app
        for name, app in apps(None).items()
        if name in ("bare WSGI", "Flask", "Flask hardened", "hello.py")
    }
    # What answering health probes at /up, and the body limit, cost every request.
    without_up = Path(tempfile.mkdtemp(prefix="without-up-"))
    hello = (ROOT / "hello.py").read_text()
    for line in (
        '    f"{__name__}.limit_request_body",\n',
        '    f"{__name__}.health_check",\n',
    ):
        assert hello.count(line) == 1
        hello = hello.replace(line, "")
    (without_up / "hello.py").write_text(hello)
    app_set["hello.py without /up and the body limit"] = (
        without_up,
        *app_set["hello.py"][1:],
    )
    if args.before:
        app_set["hello.py before"] = (Path(args.before), *app_set["hello.py"][1:])
    if args.profile:
        print(run_child(app_set[args.profile], args.requests, profile=True))
        return
    results = {name: [] for name in app_set}
    for round_number in range(args.rounds):
        names = list(app_set)
        names = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in names:
            results[name].append(run_child(app_set[name], args.requests))
    import django

    print(f"Python {sys.version.split()[0]}; Django {django.__version__}")
    print(f"{args.rounds} rounds of {args.requests} requests in process\n")
    print("| app | µs a request (median) | spread | × hello.py's time |")
    print("|---|---|---|---|")
    for name, times in results.items():
        ratio = statistics.median(t / h for t, h in zip(times, results["hello.py"]))
        print(
            f"| {name} | {statistics.median(times):.1f} | {min(times):.1f}–{max(times):.1f} "
            f"| {ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
