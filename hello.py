# /// script
# requires-python = ">=3.10"
# dependencies = ["Django>=5.2,<7", "gunicorn>=25"]
# ///
"""hello.py: a whole Django project in one file, configured from the environment.

Chapter 1 of "Lightweight Django" (Elman & Lavin, O'Reilly 2014) on Django 5.2 LTS and 6.x.
Develop with `python hello.py runserver` (or any other management command); serve it
with `gunicorn hello`. README.md says what each environment variable accepts.
"""

import importlib
import itertools
import os
import sys
from pathlib import Path

import django
from django.conf import settings
from django.core import checks
from django.core.checks.security import base as security
from django.core.management import execute_from_command_line
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.http.request import split_domain_port
from django.urls import path

# Run as `python NAME.py COMMAND`, the file imports itself by its own name, the name
# gunicorn imports it by, and runs the command: one module, whichever way it starts.
if __name__ == "__main__":
    # Its own folder first, so that its name finds this file, even beside another copy
    # or with PYTHONSAFEPATH set. Importing it reads the settings and configures Django.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    importlib.import_module(Path(__file__).stem)

    execute_from_command_line(sys.argv)
    sys.exit()


def refuse(name, shown, accepted):
    """Stop start-up with one line: the variable, its value, what it accepts."""
    print(
        f"{Path(__file__).name}: {name}={shown} is refused; {accepted}", file=sys.stderr
    )
    # gunicorn's master reads exit status 4 as "App failed to load" and stops.
    sys.exit(4)


def env_flag(name, default):
    value = os.environ.get(name, default).strip().lower()
    if value not in ("on", "true", "1", "yes", "off", "false", "0", "no"):
        refuse(name, repr(os.environ[name]), "use on/off, true/false, 1/0 or yes/no")
    return value in ("on", "true", "1", "yes")


# The platform running this file, known by a variable it sets, and the host names its
# router sends here, as the platform announces them.
env = os.environ
if "DYNO" in env and "CI" not in env:
    # Heroku, not Heroku CI. Its router passes on only the app's own domains.
    platform_name, platform_hosts = "Heroku", ["*"]
elif "RENDER" in env:
    platform_name, platform_hosts = "Render", [env.get("RENDER_EXTERNAL_HOSTNAME")]
elif "RAILWAY_ENVIRONMENT" in env:
    # A Railway service may have a private domain only.
    railway = [env.get("RAILWAY_PUBLIC_DOMAIN"), env.get("RAILWAY_PRIVATE_DOMAIN")]
    platform_name, platform_hosts = "Railway", railway
elif "FLY_APP_NAME" in env:
    platform_name, platform_hosts = "Fly.io", [f"{env['FLY_APP_NAME']}.fly.dev"]
else:
    platform_name, platform_hosts = None, []
platform_hosts = [host for host in platform_hosts if host]

# `python hello.py COMMAND` develops. Imported by gunicorn or any other server, or run
# on a platform, the file is in production.
script = getattr(sys.modules["__main__"], "__file__", None) or ""
developing = (
    os.path.realpath(script) == os.path.realpath(__file__) and not platform_name
)

# SECURITY WARNING: don't run with debug turned on in production!
# https://docs.djangoproject.com/en/stable/ref/settings/#debug
DEBUG = env_flag("DEBUG", "on" if developing else "off")

# SECURITY WARNING: keep the secret key used in production secret! It signs sessions
# and django.core.signing values, so every process must have the same one.
SECRET_KEY = env.get("SECRET_KEY", "").strip()
if DEBUG and not SECRET_KEY:
    # For development only: a key published here signs nothing anyone should trust.
    SECRET_KEY = "django-insecure-%kku$3z*g%4wue6*s1j(a298pfw&npf_u)^hr&2g5h$*33w4@l"
# With DEBUG off, a key Django's check W009 calls weak stops start-up. It is described,
# never printed.
if not DEBUG and (
    len(SECRET_KEY) < security.SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < security.SECRET_KEY_MIN_UNIQUE_CHARACTERS
    or SECRET_KEY.startswith(security.SECRET_KEY_INSECURE_PREFIX)
):
    refuse(
        "SECRET_KEY",
        f"<{len(SECRET_KEY)} characters, {len(set(SECRET_KEY))} distinct>",
        "with DEBUG off (its default under gunicorn and on a platform) set a random "
        f"one of {security.SECRET_KEY_MIN_LENGTH} characters or more, "
        f"{security.SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct, not starting "
        f"{security.SECRET_KEY_INSECURE_PREFIX}, made by: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"',
    )

# The Host headers this site answers; any other gets a 400. SECURITY WARNING: "*"
# lets any Host through. https://docs.djangoproject.com/en/stable/ref/settings/#allowed-hosts
hosts = env.get(
    "ALLOWED_HOSTS", ",".join(["localhost", "127.0.0.1", "[::1]", *platform_hosts])
)
ALLOWED_HOSTS = [host.strip() for host in hosts.split(",") if host.strip()]
# An entry Django's own Host parser would never give back (a port, a scheme, a final
# dot, a character outside ASCII) matches no request: every request would get a 400.
if not ALLOWED_HOSTS or not all(
    host == "*" or split_domain_port(host) == (host.lower(), "")
    for host in ALLOWED_HOSTS
):
    refuse(
        "ALLOWED_HOSTS",
        repr(hosts),
        "use ASCII host names (punycode for international ones), .domain wildcards, "
        "IP addresses or [IPv6], comma-separated, without scheme, port or final dot",
    )
if platform_name and not platform_hosts and "ALLOWED_HOSTS" not in env:
    refuse(
        "ALLOWED_HOSTS", "<unset>", f"set it: {platform_name} announces no host name"
    )

ROOT_URLCONF = __name__

# Build paths inside the project like this: BASE_DIR / "subdir".
BASE_DIR = Path(__file__).resolve().parent

# As startproject writes them: times are read and shown in UTC, not Django's global
# default of America/Chicago, and a model's own key is 64-bit, as on Django 6.
# https://docs.djangoproject.com/en/stable/topics/i18n/timezones/
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Each one wraps those below it: the header-setting ones come first, so that every
# response, redirects and errors included, carries their headers.
# https://docs.djangoproject.com/en/stable/topics/http/middleware/
MIDDLEWARE = [
    "django.middleware.csp.ContentSecurityPolicyMiddleware"
    if django.VERSION >= (6,)
    else f"{__name__}.content_security_policy",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    f"{__name__}.limit_request_body",
    f"{__name__}.health_check",
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
# X-Forwarded-Proto, redirect plain HTTP, send HSTS for a year and keep cookies off
# plain HTTP. SECURITY WARNING: only behind such a proxy, which sets that header.
if env_flag("HTTPS_ONLY", "on" if platform_name else "off"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Platforms probe the health check over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^up$"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # W021 asks for HSTS preload, which only the domain's owner should ask for.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True


def first_refused_host_only():
    """A logging filter that lets a process's first refused Host through, on one line
    saying so, and no other: a misspelt ALLOWED_HOSTS shows in the log at once."""
    seen = itertools.count()

    def first(record):
        if next(seen):
            return False
        record.msg = f"{record.getMessage()} Later refused Hosts are not logged."
        record.args, record.exc_info, record.exc_text = (), None, None
        return True

    return first


# Warnings and errors go to stderr, one line each (a traceback after a 500), with
# DEBUG off too. https://docs.djangoproject.com/en/stable/topics/logging/
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "filters": {"first": {"()": first_refused_host_only}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "line"},
        "first": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["first"],
        },
    },
    "root": {"handlers": ["stderr"]},
    "loggers": {
        "django": {"handlers": ["stderr"], "propagate": False},
        # A platform's router logs every request with its status, and scanners send
        # odd paths and Hosts by the thousand: in production, a 4xx costs no line,
        # except a CSRF failure (django.security.csrf), which says why, and the first
        # refused Host.
        "django.request": {"level": "WARNING" if DEBUG else "ERROR"},
        "django.security.DisallowedHost": {}
        if DEBUG
        else {"handlers": ["first"], "propagate": False},
    },
}

# docs/: a recipe's settings go here, below every setting they extend.

# The UPPER_CASE names above are the settings. Django is set up here, so that what
# follows can import models and the admin's URLs.
configured = {name: value for name, value in globals().items() if name.isupper()}
settings.configure(**configured)
django.setup(set_prefix=False)

# docs/: a recipe's models, forms and admin registrations go here.


def index(request):
    return HttpResponse("Hello World")


urlpatterns = [path("", index)]

# docs/: a recipe's views and URLs go here.


# The machinery every response passes through, in the order MIDDLEWARE lists it.
def csp_header(policy):
    """A policy as Django 6 writes it: a directive's sources as a list, tuple, set or
    string, True for a directive alone, None, False or nothing for none. CSP.NONCE is
    left out, as Django 6 leaves it out of a page that uses no nonce."""
    directives = []
    for directive, sources in policy.items():
        if sources is True:
            directives.append(directive)
            continue
        if isinstance(sources, str):
            sources = [sources]
        elif isinstance(sources, set):
            sources = sorted(sources)
        # Django 6's CSP.NONCE, which only its middleware fills in.
        sources = [s for s in sources or [] if s != "<CSP_NONCE_SENTINEL>"]
        if sources:
            directives.append(f"{directive} {' '.join(sources)}")
    return "; ".join(directives)


def content_security_policy(get_response):
    """On Django 5.2, SECURE_CSP and SECURE_CSP_REPORT_ONLY as Django 6's middleware
    sends them (no nonces or decorators). Goes with Django 5.2."""

    def middleware(request):
        response = get_response(request)
        # Django's debug pages run inline code; Django 6 exempts them too.
        if settings.DEBUG and response.status_code >= 400:
            return response
        for header, name in [
            ("Content-Security-Policy", "SECURE_CSP"),
            ("Content-Security-Policy-Report-Only", "SECURE_CSP_REPORT_ONLY"),
        ]:
            policy = csp_header(getattr(settings, name, {}))
            if policy and header not in response:
                response[header] = policy
        return response

    return middleware


def limit_request_body(get_response):
    """A body over REQUEST_BODY_MAX_SIZE (5 MiB unless set) gets a 413, unread: Django
    caps form fields, not the uploaded files it writes to disk."""
    limit = getattr(settings, "REQUEST_BODY_MAX_SIZE", 5 * 1024 * 1024)

    def middleware(request):
        length = request.META.get("CONTENT_LENGTH", "")
        if length.isdecimal() and int(length) > limit:
            return HttpResponse("Request body too large\n", status=413)
        return get_response(request)

    return middleware


def health_check(get_response):
    """GET /up, before Host validation, since platforms probe by IP address: 200, or
    503 and one line logged while a configured database does not answer."""
    from django.db import DatabaseError, connection
    from django.utils.log import log_response

    # Not bool(DATABASES): Django fills an empty one with its dummy backend.
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
            # One line: psycopg's messages run over several.
            reason = " ".join(str(error).split())
            log_response("/up: %s", reason, response=response, request=request)
        response["Cache-Control"] = "no-store"
        return response

    return middleware


@checks.register
def settings_set_too_late(app_configs, **kwargs):
    """An UPPER_CASE name set below settings.configure() is a setting Django never
    reads: `check`, runserver and migrate refuse it, saying where it goes. A class such
    as django.utils.csp.CSP, imported for views, is no setting."""
    return [
        checks.Error(
            f"{name} is set below settings.configure(), where Django never reads it.",
            hint=f"Move it above settings.configure() in {Path(__file__).name}, "
            "where the file marks a recipe's settings.",
            id=f"{__name__}.E001",
        )
        for name, value in globals().items()
        if name.isupper()
        and not isinstance(value, type)
        and configured.get(name) is not value
    ]


application = get_wsgi_application()
