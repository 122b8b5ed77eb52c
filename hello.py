# /// script
# requires-python = ">=3.10"
# dependencies = ["Django>=5.2,<7", "gunicorn>=25"]
# ///
"""hello.py: a whole Django project in one file, configured from the environment.

Chapter 1 of "Lightweight Django" (Elman & Lavin, O'Reilly 2014) on Django 5.2 LTS and 6.x.

    python hello.py runserver      # develop: http://127.0.0.1:8000/
    gunicorn hello                 # serve the WSGI `application` below
    python hello.py check --deploy # or any other management command
    uv run hello.py runserver      # the same, installing the dependencies above

DEBUG, SECRET_KEY, ALLOWED_HOSTS and HTTPS_ONLY configure it (README.md has the table).
A value that is not accepted stops start-up with one line naming it.
"""

import gc
import os
import re
import sys

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

truthy, falsy = ("on", "true", "1", "yes"), ("off", "false", "0", "no")


def refuse(name, shown, accepted):
    print(f"hello.py: {name}={shown} is refused; {accepted}", file=sys.stderr)
    # Status 4 is what gunicorn's master reads as "App failed to load": it stops
    # instead of restarting the worker forever, as it would on any other status.
    sys.exit(4)


def env_flag(name, default):
    value = os.environ.get(name, default)
    if value.strip().lower() not in truthy + falsy:
        refuse(name, repr(value), "use on/off, true/false, 1/0 or yes/no")
    return value.strip().lower() in truthy


# Every UPPER_CASE name below is a Django setting, as in a settings.py.

# SECURITY WARNING: don't run with debug turned on in production!
# On by default, as in the book, but off where PORT is set: platforms (Heroku, Render,
# Railway, Dokku, Fly.io) set it, and gunicorn then listens on every interface.
DEBUG = env_flag("DEBUG", "off" if "PORT" in os.environ else "on")

# SECURITY WARNING: keep the secret key used in production secret!
# It signs sessions, CSRF tokens and anything signed with django.core.signing, so it
# must be the same in every process and across restarts: never a random default.
# With DEBUG off, one that Django's own check (W009) calls weak is refused, unprinted.
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
distinct = len(set(SECRET_KEY))
if not DEBUG and (
    len(SECRET_KEY) < 50 or distinct < 5 or SECRET_KEY.startswith("django-insecure-")
):
    refuse(
        "SECRET_KEY",
        f"<{len(SECRET_KEY)} characters, {distinct} distinct>",
        "with DEBUG off (its default where PORT is set) set a long random one (50 "
        "characters or more, 5 distinct, no django-insecure- prefix), made by: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'",
    )
SECRET_KEY = (
    SECRET_KEY or "django-insecure-%kku$3z*g%4wue6*s1j(a298pfw&npf_u)^hr&2g5h$*33w4@l"
)

# The Host headers this site answers; anything else gets a 400. The default covers the
# URLs runserver and gunicorn print. SECURITY WARNING: "*" lets anyone's Host through.
# Entries Django could never match a Host against are refused: it wants ASCII (punycode
# for international names), a .domain wildcard, an IP address or [IPv6], or "*".
# https://docs.djangoproject.com/en/stable/ref/settings/#allowed-hosts
hosts = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
ALLOWED_HOSTS = [host.strip() for host in hosts.split(",") if host.strip()]
host_syntax = re.compile(
    r"\*|\.?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[a-f0-9]*:[a-f0-9.:]+\]",
    re.IGNORECASE | re.ASCII,
)
if not ALLOWED_HOSTS or not all(map(host_syntax.fullmatch, ALLOWED_HOSTS)):
    refuse(
        "ALLOWED_HOSTS",
        repr(hosts),
        "use ASCII host names (punycode for international ones), .domain wildcards, "
        "IP addresses or [IPv6], comma-separated, without scheme, port or final dot",
    )

ROOT_URLCONF = __name__

# Ours first, so that every response, errors included, gets its headers; then Django's
# security middleware, the Host fix below, and the book's three: CSRF and clickjacking
# protection and Host validation are only active when listed here.
MIDDLEWARE = [
    f"{__name__}.security_headers",
    "django.middleware.security.SecurityMiddleware",
    f"{__name__}.host_from_an_absolute_target",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# This page loads nothing, so its Content-Security-Policy allows nothing; Django 6 sends
# it with its own middleware, and security_headers below does on 5.2. The page uses no
# browser feature either: the Permissions-Policy turns the powerful ones off.
# https://docs.djangoproject.com/en/stable/ref/csp/
SECURE_CSP = {
    "default-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if django.VERSION >= (6,):
    MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Served over HTTPS by a TLS-terminating proxy (Heroku's router, nginx): trust its
# X-Forwarded-Proto, redirect plain HTTP, send HSTS and keep cookies off plain HTTP.
# SECURITY WARNING: only turn it on behind a proxy that sets X-Forwarded-Proto itself.
# https://docs.djangoproject.com/en/stable/ref/settings/#secure-proxy-ssl-header
if env_flag("HTTPS_ONLY", "off"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # A year of HSTS, subdomains included. Not "preload" (W021): that asks browsers to
    # build the domain in, which is for its owner to ask (README: Security headers).
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True


def one_line_for_refusals(record):
    """A request Django refuses (a Host not allowed) is the client's error, not a bug
    here: log it in one line, without a traceback."""
    if record.name.startswith("django.security."):
        record.exc_info = record.exc_text = None
    return True


# Django's default logging drops errors when DEBUG is off: send every logger's warnings
# and errors to stderr, each in a line with its time, level and logger.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "filters": {
        "refusals": {
            "()": "django.utils.log.CallbackFilter",
            "callback": one_line_for_refusals,
        }
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["refusals"],
        }
    },
    "root": {"handlers": ["stderr"]},
    "loggers": {"django": {"handlers": ["stderr"], "propagate": False}},
}

# Guarded: `python hello.py` runs this file as __main__, and an `import hello` then
# runs it a second time, which must not configure Django twice.
if not settings.configured:
    settings.configure(**{k: v for k, v in globals().items() if k.isupper()})

# Around every request Django resets the query log and closes stale database
# connections. Without DATABASES there are none: skip that work until there are.
if not settings.DATABASES:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, reset_queries

    request_started.disconnect(reset_queries)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)


def index(request):
    return HttpResponse("Hello World")


def security_headers(get_response):
    """Permissions-Policy on every response; on Django 5.2, which has no CSP middleware,
    SECURE_CSP too, but not on debug pages: they need inline styles and scripts."""
    # Read once, as Django's own middleware reads its settings.
    policy = "; ".join(f"{k} {' '.join(v)}" for k, v in settings.SECURE_CSP.items())
    permissions, debug = settings.PERMISSIONS_POLICY, settings.DEBUG

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", permissions)
        if django.VERSION < (6,) and not (debug and response.status_code >= 400):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return middleware


def host_from_an_absolute_target(get_response):
    """HTTP/1.1 says to serve `GET http://example.com/ HTTP/1.1` for the target's host,
    not the Host header's (RFC 9112, 3.2.2), and to refuse a request with no Host at
    all: so Django validates the target's host, and refuses an empty one."""

    def middleware(request):
        target = request.META.get("RAW_URI", "")  # as gunicorn received it
        if absolute := re.match(r"https?://([^/?#]*)", target, re.IGNORECASE):
            request.META["HTTP_HOST"] = absolute[1]
        elif request.META.get("SERVER_PROTOCOL") == "HTTP/1.1":
            request.META.setdefault("HTTP_HOST", "")
        return get_response(request)

    return middleware


urlpatterns = [path("", index)]

application = get_wsgi_application()
# What import made lives as long as the process: keep it out of the garbage collector,
# so gunicorn workers forked from a --preload master share its memory, not copy it.
gc.freeze()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
