"""hello.py: a whole Django project in one file, configured from the environment.

Chapter 1 of "Lightweight Django" (Elman & Lavin, O'Reilly 2014) on Django 5.2 LTS and 6.x.

    python hello.py runserver      # develop: http://127.0.0.1:8000/
    gunicorn hello                 # serve the WSGI `application` below
    python hello.py check --deploy # or any other management command

DEBUG, SECRET_KEY, ALLOWED_HOSTS and HTTPS_ONLY configure it (README.md has the table).
A value that is not accepted stops start-up with one line naming it.
"""

import gc
import os
import re
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

ON, OFF = ("on", "true", "1", "yes"), ("off", "false", "0", "no")
# A bare host name, a .domain wildcard, an IP address, [IPv6] or "*": no scheme, port or path.
HOST = re.compile(
    r"\*|\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\]", re.IGNORECASE
)


def refuse(name, value, accepted):
    print(f"hello.py: {name}={value!r} is refused; {accepted}", file=sys.stderr)
    # Status 4 is what gunicorn's master reads as "App failed to load": it stops
    # instead of restarting the worker forever, as it would on any other status.
    sys.exit(4)


def env_flag(name, default):
    value = os.environ.get(name, default)
    if value.strip().lower() not in ON + OFF:
        refuse(name, value, "use on/off, true/false, 1/0 or yes/no")
    return value.strip().lower() in ON


# SECURITY WARNING: don't run with debug turned on in production!
# On by default, as in the book; the Procfile turns it off unless told otherwise.
DEBUG = env_flag("DEBUG", "on")

# SECURITY WARNING: keep the secret key used in production secret!
# It signs sessions, CSRF tokens and anything signed with django.core.signing, so it
# must be the same in every process and across restarts: never a random default.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and not DEBUG:
    refuse(
        "SECRET_KEY",
        SECRET_KEY,
        "with DEBUG off set a long random one, made by: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'",
    )
SECRET_KEY = (
    SECRET_KEY or "django-insecure-%kku$3z*g%4wue6*s1j(a298pfw&npf_u)^hr&2g5h$*33w4@l"
)

# The Host headers this site answers; anything else gets a 400. The default covers the
# URLs runserver and gunicorn print. SECURITY WARNING: "*" lets anyone's Host through.
# https://docs.djangoproject.com/en/stable/ref/settings/#allowed-hosts
hosts = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
ALLOWED_HOSTS = [host.strip() for host in hosts.split(",") if host.strip()]
if not ALLOWED_HOSTS or not all(HOST.fullmatch(host) for host in ALLOWED_HOSTS):
    refuse(
        "ALLOWED_HOSTS", hosts, "use host names without scheme or port, comma-separated"
    )

# Served over HTTPS by a TLS-terminating proxy (Heroku's router, nginx): trust its
# X-Forwarded-Proto, redirect plain HTTP, send HSTS and keep cookies off plain HTTP.
# SECURITY WARNING: only turn it on behind a proxy that sets X-Forwarded-Proto itself.
# https://docs.djangoproject.com/en/stable/ref/settings/#secure-proxy-ssl-header
HTTPS_ONLY = env_flag("HTTPS_ONLY", "off")
https_settings = {
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 60 * 60 * 24 * 365,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}

# Guarded: `python hello.py` runs this file as __main__, and an `import hello` then
# runs it a second time, which must not configure Django twice.
if not settings.configured:
    settings.configure(
        DEBUG=DEBUG,
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=ALLOWED_HOSTS,
        ROOT_URLCONF=__name__,
        # SecurityMiddleware first, the guard below, then the book's three: CSRF and
        # clickjacking protection and Host validation are only active when listed here.
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            f"{__name__}.refuse_what_gunicorn_lets_through",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        # Django's default logging drops errors when DEBUG is off: send them to stderr.
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"stderr": {"class": "logging.StreamHandler"}},
            "loggers": {"django": {"handlers": ["stderr"]}},
        },
        **(https_settings if HTTPS_ONLY else {}),
    )


def index(request):
    return HttpResponse("Hello World")


def refuse_what_gunicorn_lets_through(get_response):
    """A 400, as for a Host that is not allowed, where gunicorn passes on what HTTP/1.1
    says to refuse: no Host, an absolute request-target naming another host, a port
    past 65535; and a body larger than Django's DATA_UPLOAD_MAX_MEMORY_SIZE."""

    def middleware(request):
        host = request.META.get("HTTP_HOST", "")
        target = request.META.get("RAW_URI", "")  # as gunicorn received it
        port, named = re.search(r":(\d+)$", host), urlsplit(target).netloc
        if (
            (not host and request.META.get("SERVER_PROTOCOL") == "HTTP/1.1")
            or (named and named.lower() != host.lower())
            or (port and int(port[1]) > 65535)
        ):
            raise DisallowedHost(f"Host {host!r} refused for {target!r}")
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdecimal() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestDataTooBig(f"{length}-byte body refused")
        return get_response(request)

    return middleware


urlpatterns = [
    path("", index),
]

application = get_wsgi_application()
# What import made lives as long as the process: keep it out of the garbage collector,
# so gunicorn workers forked from a --preload master share its memory, not copy it.
gc.freeze()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
