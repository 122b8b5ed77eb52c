"""gunicorn's settings for hello.py, read by `gunicorn hello` from this folder.

https://docs.gunicorn.org/en/stable/settings.html. An option given on the command line
or in GUNICORN_CMD_ARGS wins over the same one here.
"""

import os

# A platform names the port its router sends to, and reaches it on any interface:
# "[::]" listens on IPv6 and IPv4 (Fly.io's and Railway's private networks are IPv6).
# Elsewhere gunicorn's default, 127.0.0.1:8000, which only this machine reaches: a
# proxy on it, such as nginx, passes requests on.
if "PORT" in os.environ:
    bind = [f"[::]:{os.environ['PORT']}"]

# gunicorn starts WEB_CONCURRENCY workers (Heroku sets it for the dyno's size), or one.
# Five threads a worker, so that a view waiting on a database or an API holds a thread,
# not the whole worker.
worker_class = "gthread"
threads = 5

# Import the application once, in the master, before forking workers: a refused
# setting stops gunicorn at once, and workers share the imported code's memory.
preload_app = True

# Keep an idle connection open longer than the routers in front do (Heroku's router
# keeps one 90 s), so that gunicorn never closes one as the router reuses it.
keepalive = 100

# Restart a worker that stops answering the master for 20 s. Under gthread this does
# not cut a slow request short: the router's own timeout does (Heroku's is 30 s).
timeout = 20

# On SIGTERM, requests in flight have 20 s to finish, inside the platforms' stop
# windows (Heroku's is 30 s).
graceful_timeout = 20
