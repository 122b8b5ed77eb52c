"""Chapter 2's placeholder images over two instances behind nginx: each process's own
cache against one shared Redis (README.md: A shared cache), and what Redis adds to a
request the cache answers.

    python tests/benchmark/shared_cache.py [--rounds 3] [--seconds 10]   # as root

Each instance is the grown copy under the Procfile's options with 2 workers; wrk asks
through nginx for images of 100 sizes at random. Hit rate = 1 - images drawn / images
served, the draws counted by the copy itself. Rounds alternate the two caches; every
process and Redis's keys are new in each round. Then one instance, one connection, one
image it has cached: microseconds a request, each process's cache against Redis.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from run import wrk
from support.extend import grown_copy
from support.net import free_port
from support.procfile import gunicorn_options
from support.project import BIN
from support.redis import redis
from support.servers import Server, nginx_argv

SECRET_KEY = "benchmark-" + "k3y" * 20
# Counts each image drawn, in a file every process appends a line to.
COUNT_DRAWS = """
from PIL import Image as _Image

_new = _Image.new


def _counted(*args, **kwargs):
    with open(os.environ["DRAWS"], "a") as draws:
        draws.write("drawn\\n")
    return _new(*args, **kwargs)


_Image.new = _counted
"""
SIZES = """
math.randomseed(os.time())
request = function()
  local side = 100 + math.random(0, 99)
  return wrk.format(nil, string.format("/image/%dx%d/", side, side))
end
"""


def instance(directory, env):
    port = free_port()
    argv = [str(BIN / "gunicorn"), "hello", "--bind", f"127.0.0.1:{port}"]
    argv += ["--no-control-socket", *gunicorn_options()]
    server = Server(argv, {**os.environ, **env, "WEB_CONCURRENCY": "2"}, cwd=directory)
    server.wait_until_serving(port, path="/up", host="localhost", timeout=60)
    return server, port


def over_two_instances(directory, env, seconds, tmp):
    """wrk through nginx over two new instances: req/s, p99, hit rate."""
    draws = Path(tmp) / "draws"
    draws.write_text("")
    env = {**env, "DRAWS": str(draws)}
    servers = [instance(directory, env) for _ in range(2)]
    router_dir = Path(tempfile.mkdtemp(dir=tmp))
    http = free_port()
    proxy = Server(
        nginx_argv(router_dir, [p for _, p in servers], [f"127.0.0.1:{http}"], []), None
    )
    try:
        status, headers, _ = proxy.wait_until_serving(
            http, path="/image/64x64/", host="localhost"
        )
        assert (status, headers["content-type"]) == (200, "image/png"), status
        draws.write_text("")
        result = wrk(http, seconds, 8, script=SIZES)
    finally:
        proxy.stop()
        for server, _ in servers:
            server.stop()
    drawn = len(draws.read_text().splitlines())
    result["hit rate"] = 1 - drawn / result["requests"]
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="shared-cache-")
    directory = grown_copy(Path(tmp) / "grown", code=COUNT_DRAWS)
    # nginx here speaks plain HTTP to wrk, and says so in X-Forwarded-Proto.
    production = {"DEBUG": "off", "SECRET_KEY": SECRET_KEY, "HTTPS_ONLY": "off"}
    production["ALLOWED_HOSTS"] = "localhost,127.0.0.1"
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        subprocess.run(
            [sys.executable, "hello.py", *command],
            cwd=directory,
            env={**os.environ, **production},
            check=True,
            capture_output=True,
        )
    with redis() as cache:
        caches = {
            "each process's own": production,
            "one Redis": {**production, "REDIS_URL": cache.url},
        }
        results = {name: [] for name in caches}
        for _ in range(args.rounds):
            for name, env in caches.items():
                cache.command("FLUSHALL")
                results[name].append(
                    over_two_instances(directory, env, args.seconds, tmp)
                )
        print(
            f"\n### Placeholder images of 100 sizes at random, 2 instances × 2 workers "
            f"behind nginx; wrk -t1 -c8, {args.rounds} rounds of {args.seconds} s\n"
        )
        print("| cache | hit rate | req/s (median) | spread | p99 | errors |")
        print("|---|---|---|---|---|---|")
        for name, runs in results.items():
            rps = [r["rps"] for r in runs]
            print(
                f"| {name} | {statistics.median(r['hit rate'] for r in runs):.1%} "
                f"| {statistics.median(rps):.0f} | {min(rps):.0f}–{max(rps):.0f} "
                f"| {statistics.median(r['p99'] for r in runs):.1f} ms "
                f"| {sum(r['errors'] for r in runs)} |"
            )
        # What Redis adds to a request the cache answers: one connection, one image.
        cost = {name: [] for name in caches}
        for _ in range(args.rounds):
            for name, env in caches.items():
                env = {**env, "DRAWS": os.devnull}
                server, port = instance(directory, env)
                try:
                    wrk(port, 1, 1, "/image/120x80/")  # drawn once, cached since
                    result = wrk(port, args.seconds, 1, "/image/120x80/")
                    cost[name].append(1e6 / result["rps"])
                finally:
                    server.stop()
        local, shared = (statistics.median(cost[name]) for name in caches)
        print(
            "\n| a cached image, one connection | µs a request (median) |\n|---|---|\n"
            f"| each process's own cache | {local:.0f} |\n| one Redis | {shared:.0f} "
            f"(+{shared - local:.0f}) |"
        )


if __name__ == "__main__":
    main()
