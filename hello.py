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

DEBUG, SECRET_KEY, ALLOWED_HOSTS and HTTPS_ONLY configure it (README.md: Configuration).
A value that is not accepted stops start-up with one line naming it.
"""

import gc
import logging
import os
import re
import sys

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.urls import path
from django.utils.log import log_response

flags = dict.fromkeys(["on", "true", "1", "yes"], True)
flags.update(dict.fromkeys(["off", "false", "0", "no"], False))


def refuse(name, shown, accepted):
    print(f"hello.py: {name}={shown} is refused; {accepted}", file=sys.stderr)
    # Status 4 is what gunicorn's master reads as "App failed to load": it stops
    # instead of restarting the worker forever, as it would on any other status.
    sys.exit(4)


def env_flag(name, default):
    value = os.environ.get(name, default)
    flag = value.strip().lower()
    if flag not in flags:
        refuse(name, repr(value), "use on/off, true/false, 1/0 or yes/no")
    return flags[flag]


def env_secret_key(debug):
    """SECRET_KEY; with DEBUG off, one that Django's check (W009) calls weak is refused,
    described but never printed."""
    key = os.environ.get("SECRET_KEY", "").strip()
    weak = len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-")
    if weak and not debug:
        refuse(
            "SECRET_KEY",
            f"<{len(key)} characters, {len(set(key))} distinct>",
            "with DEBUG off (its default on a platform or where PORT is set) set a long "
            "random one (50 characters or more, 5 distinct, no django-insecure- prefix), "
            "made by: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
        )
    return key or "django-insecure-%kku$3z*g%4wue6*s1j(a298pfw&npf_u)^hr&2g5h$*33w4@l"


def env_hosts(default):
    """ALLOWED_HOSTS, refusing an entry Django could never match a request's Host to."""
    value = os.environ.get("ALLOWED_HOSTS", default)
    hosts = [host.strip() for host in value.split(",") if host.strip()]
    syntax = r"\*|\.?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[a-f0-9]*:[a-f0-9.:]+\]"
    valid = [re.fullmatch(syntax, host, re.IGNORECASE | re.ASCII) for host in hosts]
    if not hosts or not all(valid):
        refuse(
            "ALLOWED_HOSTS",
            repr(value),
            "use ASCII host names (punycode for international ones), .domain wildcards, "
            "IP addresses or [IPv6], comma-separated, without scheme, port or final dot",
        )
    return hosts


def platform_host():
    """The public host name the platform running this announces (Heroku, Render,
    Railway, Fly.io): "" if it announces none, None off a platform."""
    if "FLY_APP_NAME" in os.environ:
        return os.environ["FLY_APP_NAME"] + ".fly.dev"
    for marker, host in [
        ("DYNO", "HEROKU_APP_DEFAULT_DOMAIN_NAME"),
        ("RENDER", "RENDER_EXTERNAL_HOSTNAME"),
        ("RAILWAY_ENVIRONMENT", "RAILWAY_PUBLIC_DOMAIN"),
    ]:
        if marker in os.environ:
            return os.environ.get(host, "")
    return None


class OneLineForRefusals(logging.Filter):
    """A refused request (a Host not allowed) is the client's mistake: one line, no
    traceback."""

    def filter(self, record):
        if record.name.startswith("django.security."):
            record.exc_info = record.exc_text = None
        return True


def security_headers(get_response):
    """Permissions-Policy on every response; on Django 5.2, which has no CSP middleware,
    SECURE_CSP too, but not on debug pages: they need inline styles and scripts."""
    policy = "; ".join(f"{k} {' '.join(v)}" for k, v in settings.SECURE_CSP.items())
    permissions, debug = settings.PERMISSIONS_POLICY, settings.DEBUG

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", permissions)
        if django.VERSION < (6,) and not (debug and response.status_code >= 400):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return middleware


def health_check(get_response):
    """GET /up answers a platform's health probe before Host validation, whatever the
    Host: 200, or 503 while a configured database does not answer."""
    # Not bool(DATABASES): Django fills an empty one with its dummy backend once asked
    # (runserver's checks do), and that backend answers no query.
    database = connection.settings_dict["ENGINE"] != "django.db.backends.dummy"

    def middleware(request):
        if request.path_info != "/up" or request.method not in ("GET", "HEAD"):
            return get_response(request)
        response = HttpResponse("up\n", content_type="text/plain")
        try:
            if database:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
        except DatabaseError as error:
            response = HttpResponse("database unreachable\n", status=503)
            reason = " ".join(str(error).split())  # psycopg's run over several lines
            log_response(
                "%s: %s", request.path, reason, response=response, request=request
            )
        response["Cache-Control"] = "no-store"
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


# Every UPPER_CASE name below becomes a setting, as in a settings.py: Django's, and
# PERMISSIONS_POLICY for security_headers. More are added as README.md: Grow it shows.
platform = platform_host()  # None off a platform

# SECURITY WARNING: don't run with debug turned on in production!
# On by default, for development; off on a platform, or wherever PORT is set (gunicorn
# then listens on every interface).
production = platform is not None or "PORT" in os.environ
DEBUG = env_flag("DEBUG", "off" if production else "on")

# SECURITY WARNING: keep the secret key used in production secret!
# It signs sessions and django.core.signing values: every process must share it.
SECRET_KEY = env_secret_key(DEBUG)

# The Host headers this site answers; anything else gets a 400. SECURITY WARNING: "*"
# lets any Host through. https://docs.djangoproject.com/en/stable/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env_hosts(f"localhost,127.0.0.1,[::1],{platform or ''}")

ROOT_URLCONF = __name__

# Ours and the header-setting ones first, so that every response, errors included,
# carries the headers; CSRF protection and Host validation only happen when listed.
MIDDLEWARE = [
    f"{__name__}.security_headers",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    f"{__name__}.health_check",
    f"{__name__}.host_from_an_absolute_target",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

# Django's template engine, for the templates a grown project adds (README.md: Grow it).
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

# The site's own scripts, styles, images and fonts load; inline code, eval, plugins,
# other origins and framing do not. Django 6 sends it, with a nonce for the pages that
# ask for one (its own CSRF failure page, the admin's); security_headers does on 5.2.
# https://docs.djangoproject.com/en/stable/ref/csp/
own = ["'self'"]
if django.VERSION >= (6,):
    from django.utils import csp

    own.append(csp.CSP.NONCE)
    MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
    TEMPLATES[0]["OPTIONS"]["context_processors"] = [
        "django.template.context_processors.csp"
    ]
SECURE_CSP = {
    "default-src": ["'none'"],
    **{kind: own for kind in ["script-src", "style-src", "img-src", "font-src"]},
    **{kind: ["'self'"] for kind in ["connect-src", "manifest-src", "form-action"]},
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Served over HTTPS by a TLS-terminating proxy (a platform's router, nginx): trust its
# X-Forwarded-Proto, redirect plain HTTP, send HSTS and keep cookies off plain HTTP.
# On by default on a platform. SECURITY WARNING: only behind a proxy that sets the header.
# https://docs.djangoproject.com/en/stable/ref/settings/#secure-proxy-ssl-header
if env_flag("HTTPS_ONLY", "off" if platform is None else "on"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^up$"]  # health probes come over plain HTTP
    # A year, subdomains included; not "preload" (W021), which is the domain owner's call.
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

# Django's default logging drops errors when DEBUG is off: send every logger's warnings
# and errors to stderr, a line each.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "filters": {"refusals": {"()": OneLineForRefusals}},
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
# runs it a second time, which must not configure Django twice. Set up now, so that
# what is added below (the admin's URLs, models) finds the apps loaded.
if not settings.configured:
    settings.configure(**{k: v for k, v in globals().items() if k.isupper()})
    django.setup(set_prefix=False)

# Without DATABASES there are no queries to forget nor connections to close around
# each request: skip that work until there are.
if not settings.DATABASES:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, reset_queries

    request_started.disconnect(reset_queries)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)


def index(request):
    return HttpResponse("Hello World")


urlpatterns = [path("", index)]

application = get_wsgi_application()
# What import made lives as long as the process: keep it out of the garbage collector,
# so gunicorn workers forked from a --preload master share its memory, not copy it.
gc.freeze()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
