# /// script
# requires-python = ">=3.10"
# dependencies = ["Django>=5.2,<7", "gunicorn>=25"]
# ///
"""hello.py: a whole Django project in one file, configured from the environment.

Chapter 1 of "Lightweight Django" (Elman & Lavin, O'Reilly 2014) on Django 5.2 LTS and 6.x.
Develop with `python hello.py runserver` (or any other management command), serve it
with `gunicorn hello`; README.md says what each environment variable accepts.
"""

import gc
import os
import re
import sys

import django
from django.conf import settings
from django.core.management import execute_from_command_line
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path


def refuse(name, shown, accepted):
    print(f"hello.py: {name}={shown} is refused; {accepted}", file=sys.stderr)
    sys.exit(4)  # what gunicorn's master reads as "App failed to load": it stops


def env_flag(name, default):
    value = os.environ.get(name, default).strip().lower()
    if value not in ["on", "true", "1", "yes", "off", "false", "0", "no"]:
        refuse(name, repr(os.environ[name]), "use on/off, true/false, 1/0 or yes/no")
    return value in ["on", "true", "1", "yes"]


def platform_hosts():
    """The host names the platform running this routes here ("" if none); or None."""
    env = os.environ.get
    if "DYNO" in os.environ and "CI" not in os.environ:  # Heroku, not Heroku CI
        return "*"  # its router passes on only requests for the app's own domains
    if "RENDER" in os.environ:
        return env("RENDER_EXTERNAL_HOSTNAME", "")
    if "RAILWAY_ENVIRONMENT" in os.environ:  # a service may have a private name only
        return f"{env('RAILWAY_PUBLIC_DOMAIN', '')},{env('RAILWAY_PRIVATE_DOMAIN', '')}"
    if "FLY_APP_NAME" in os.environ:
        return env("FLY_APP_NAME") + ".fly.dev"
    return None


platform = platform_hosts()
production = platform is not None or "PORT" in os.environ

# SECURITY WARNING: don't run with debug turned on in production! On by default, for
# development; off on a platform or where PORT is set (gunicorn then listens on all).
DEBUG = env_flag("DEBUG", "off" if production else "on")

# SECURITY WARNING: keep the secret key used in production secret!
# It signs sessions and django.core.signing values: every process must share it.
SECRET_KEY = (
    os.environ.get("SECRET_KEY", "").strip()
    or "django-insecure-%kku$3z*g%4wue6*s1j(a298pfw&npf_u)^hr&2g5h$*33w4@l"
)

# The Host headers this site answers; anything else gets a 400. SECURITY WARNING: "*"
# lets any Host through. https://docs.djangoproject.com/en/stable/ref/settings/#allowed-hosts
hosts = os.environ.get("ALLOWED_HOSTS", f"localhost,127.0.0.1,[::1],{platform or ''}")
ALLOWED_HOSTS = [host.strip() for host in hosts.split(",") if host.strip()]

ROOT_URLCONF = __name__

# The header-setting ones first, so that every response, errors included, carries them.
MIDDLEWARE = [
    f"{__name__}.security_headers",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    f"{__name__}.health_check_and_body_limit",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

# The site's own scripts, styles, images and fonts load; inline code, eval, plugins,
# other origins and framing do not. https://docs.djangoproject.com/en/stable/ref/csp/
SECURE_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "manifest-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}

# Behind a proxy that terminates TLS (a platform's router, nginx): trust its
# X-Forwarded-Proto, redirect plain HTTP, send HSTS (a year; "preload" is the domain
# owner's call) and keep cookies off plain HTTP. SECURITY WARNING: only behind one.
if env_flag("HTTPS_ONLY", "on" if platform is not None else "off"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^up$"]  # health probes come over plain HTTP
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

# Warnings and errors to stderr, a line each, even with DEBUG off; a client's mistake
# (a 4xx) only with DEBUG on, since a platform's router logs each request's status.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["stderr"]},
    "loggers": {
        "django": {"handlers": ["stderr"], "propagate": False},
        "django.request": {"level": "WARNING" if DEBUG else "ERROR"},
        "django.security": {"level": "CRITICAL"},  # a refused Host, with its traceback
    },
}

# README.md: Grow it. A recipe's settings go here, below every setting they extend.

# The UPPER_CASE names above are the settings; once only, as `import hello` reruns this.
if not settings.configured:
    settings.configure(**{k: v for k, v in globals().items() if k.isupper()})
    django.setup(set_prefix=False)  # now, so that the admin's URLs can be imported


def index(request):
    return HttpResponse("Hello World")


urlpatterns = [path("", index)]

# README.md: Grow it. A recipe's views and URLs go here.

# What cannot work stops start-up, every command and gunicorn alike, with one line.
key, weak = os.environ.get("SECRET_KEY", "").strip(), "django-insecure-"
if not DEBUG and (len(key) < 50 or len(set(key)) < 5 or key.startswith(weak)):
    refuse(
        "SECRET_KEY",
        f"<{len(key)} characters, {len(set(key))} distinct>",  # never the key itself
        "with DEBUG off (its default on a platform or where PORT is set) set a long "
        "random one (50 characters or more, 5 distinct, no django-insecure- prefix), "
        "made by: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
    )
syntax = r"\*|\.?[a-z0-9-]+(\.[a-z0-9-]+)*|\[[a-f0-9]*:[a-f0-9.:]+\]"
valid = [re.fullmatch(syntax, host, re.IGNORECASE | re.ASCII) for host in ALLOWED_HOSTS]
if not valid or not all(valid):
    refuse(
        "ALLOWED_HOSTS",
        repr(hosts),
        "use ASCII host names (punycode for international ones), .domain wildcards, "
        "IP addresses or [IPv6], comma-separated, without scheme, port or final dot",
    )
if platform in ("", ",") and "ALLOWED_HOSTS" not in os.environ:
    refuse("ALLOWED_HOSTS", "<unset>", "set it: this platform announces no host name")


# The machinery every response passes through, in the order MIDDLEWARE lists it.
def security_headers(get_response):
    """Content-Security-Policy, as SECURE_CSP says, and Permissions-Policy."""
    policy = "; ".join(f"{k} {' '.join(v)}" for k, v in SECURE_CSP.items())
    permissions = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", permissions)
        if not (DEBUG and response.status_code >= 400):  # debug pages: inline code
            response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return middleware


def health_check_and_body_limit(get_response):
    """Before Host validation: GET /up answers a platform's probe whatever its Host (200,
    or 503 while a configured database does not answer); a body past the size limit
    gets a 413, unread (Django caps form fields, not the files it spools to disk)."""
    from django.db import DatabaseError, connection
    from django.utils.log import log_response

    limit = getattr(settings, "REQUEST_BODY_MAX_SIZE", 5 * 1024 * 1024)
    # Not bool(DATABASES): Django fills an empty one with its dummy backend once asked.
    database = connection.settings_dict["ENGINE"] != "django.db.backends.dummy"

    def middleware(request):
        length = request.META.get("CONTENT_LENGTH", "")
        if length.isdecimal() and int(length) > limit:
            return HttpResponse("Request body too large\n", status=413)
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
            log_response("/up: %s", reason, response=response, request=request)
        response["Cache-Control"] = "no-store"
        return response

    return middleware


if not settings.DATABASES:  # no queries to forget, no connections to close: skip it
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, reset_queries

    request_started.disconnect(reset_queries)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

application = get_wsgi_application()
gc.freeze()  # what import made lives on: so --preload's forked workers share, not copy

if __name__ == "__main__":
    execute_from_command_line(sys.argv)
