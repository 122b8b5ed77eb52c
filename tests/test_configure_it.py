"""Configure it: every environment variable's default, each accepted spelling, each refusal.

Settings are read at import, so each case runs hello.py in a process of its own.
"""

import re
import subprocess
import sys

import django
import pytest
from support.extend import extended_copy
from support.net import free_port
from support.project import (
    BIN,
    CHECK_CLEAN,
    PRODUCTION,
    ROOT,
    STRONG_KEY,
    environment,
    run_hello,
    settings_of,
)
from support.servers import Server

# Django 6 sends the policy itself; on 5.2, hello.py's few lines do.
CSP_MIDDLEWARE = (
    "django.middleware.csp.ContentSecurityPolicyMiddleware"
    if django.VERSION >= (6,)
    else "hello.content_security_policy"
)
ON = ["on", "true", "1", "yes", "ON", "True", "YES", " yes "]
OFF = ["off", "false", "0", "no", "OFF", "False", "No", "off\n"]
FLAG_ACCEPTS = "use on/off, true/false, 1/0 or yes/no"


def refusal(name, shown, accepted):
    return f"hello.py: {name}={shown} is refused; {accepted}"


def test_defaults_are_the_books_development_settings():
    settings = settings_of()
    assert settings["DEBUG"] is True
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert settings["ROOT_URLCONF"] == "hello"
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_PROXY_SSL_HEADER"] is None
    assert settings["MIDDLEWARE"] == [
        CSP_MIDDLEWARE,
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "hello.limit_request_body",
        "hello.health_check",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ]


@pytest.mark.parametrize("value", ON)
def test_debug_accepts_every_spelling_of_on(value):
    assert settings_of(DEBUG=value)["DEBUG"] is True


@pytest.mark.parametrize("value", OFF)
def test_debug_accepts_every_spelling_of_off(value):
    assert settings_of(DEBUG=value, SECRET_KEY=STRONG_KEY)["DEBUG"] is False


@pytest.mark.parametrize("value", ON)
def test_https_only_accepts_every_spelling_of_on(value):
    settings = settings_of(HTTPS_ONLY=value)
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] == 31536000
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert settings["SECURE_HSTS_PRELOAD"] is False
    assert settings["SESSION_COOKIE_SECURE"] is settings["CSRF_COOKIE_SECURE"] is True


@pytest.mark.parametrize("value", OFF[:4])
def test_https_only_accepts_every_spelling_of_off(value):
    settings = settings_of(HTTPS_ONLY=value)
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0


@pytest.mark.parametrize(
    "value, hosts",
    [
        ("example.com", ["example.com"]),
        (" example.com , www.example.com ,, ", ["example.com", "www.example.com"]),
        (
            ".example.com,[2001:db8::1],192.0.2.7",
            [".example.com", "[2001:db8::1]", "192.0.2.7"],
        ),
        (
            "myapp.herokuapp.com,xn--bcher-kva.example",
            ["myapp.herokuapp.com", "xn--bcher-kva.example"],
        ),
        ("LOCALHOST,[::FFFF:127.0.0.1]", ["LOCALHOST", "[::FFFF:127.0.0.1]"]),
        ("*", ["*"]),
    ],
)
def test_allowed_hosts_is_a_comma_separated_list_trimmed_of_blanks(value, hosts):
    assert settings_of(ALLOWED_HOSTS=value)["ALLOWED_HOSTS"] == hosts


def test_port_alone_changes_nothing_python_hello_py_develops():
    # honcho sets PORT for `python hello.py runserver` too: how the file runs decides.
    assert settings_of(PORT="5000")["DEBUG"] is True


def test_imported_rather_than_run_hello_py_is_in_production():
    # gunicorn, any other WSGI server, or a program: anything but `python hello.py`.
    code = "import hello; from django.conf import settings; print(settings.DEBUG)"
    argv = [sys.executable, "-c", code]
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=environment(**PRODUCTION),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.split() == ["False"], done.stderr
    done = subprocess.run(
        argv, cwd=ROOT, env=environment(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 4 and done.stderr.startswith(
        "hello.py: SECRET_KEY=<0 characters, 0 distinct> is refused;"
    )


def test_secret_key_is_stripped_of_surrounding_blanks_as_other_variables_are():
    assert (
        settings_of(DEBUG="off", SECRET_KEY=f" {STRONG_KEY}\n")["SECRET_KEY"]
        == STRONG_KEY
    )


def test_development_key_is_fixed_and_marked_insecure():
    first, second = settings_of()["SECRET_KEY"], settings_of()["SECRET_KEY"]
    assert first == second
    assert first.startswith("django-insecure-") and len(first) >= 50


def test_secret_key_from_the_environment_is_used_as_given():
    assert settings_of(SECRET_KEY=STRONG_KEY)["SECRET_KEY"] == STRONG_KEY
    assert settings_of(**PRODUCTION)["SECRET_KEY"] == STRONG_KEY


def test_a_value_signed_in_one_process_verifies_in_another():
    signed = run_hello(
        "shell", "-c", "from django.core import signing; print(signing.dumps('hi'))"
    )
    token = signed.stdout.split()[-1]
    code = f"from django.core import signing; print(signing.loads({token!r}))"
    assert run_hello("shell", "-c", code).stdout.split()[-1] == "hi"


DEVELOPMENT_KEY = re.search(
    r'"(django-insecure-[^"]+)"', (ROOT / "hello.py").read_text()
)[1]
KEY_ACCEPTS = (
    "with DEBUG off (its default under gunicorn and on a platform) set a random one "
    "of 50 characters or more, 5 distinct, not starting django-insecure-, made by: "
)
HOSTS_ACCEPT = "use ASCII host names (punycode for international ones)"


def flag(name, value):
    return {name: value}, name, repr(value), FLAG_ACCEPTS


def hosts(value):
    # With a key, so that gunicorn, which is production, gets as far as the hosts.
    config = {"ALLOWED_HOSTS": value, "SECRET_KEY": STRONG_KEY}
    return config, "ALLOWED_HOSTS", repr(value), HOSTS_ACCEPT


def production_key(key, **config):
    # The key itself is never printed: it may be a real one, merely too short.
    shown = f"<{len(key.strip())} characters, {len(set(key.strip()))} distinct>"
    return (
        {"DEBUG": "off", "SECRET_KEY": key, **config},
        "SECRET_KEY",
        shown,
        KEY_ACCEPTS,
    )


REFUSED = [
    flag("DEBUG", "maybe"),
    flag("DEBUG", ""),
    flag("DEBUG", "offf"),
    flag("DEBUG", "False!"),
    flag("HTTPS_ONLY", "https"),
    flag("HTTPS_ONLY", "2"),
    ({"DEBUG": "off"}, "SECRET_KEY", "<0 characters, 0 distinct>", KEY_ACCEPTS),
    ({"DYNO": "web.1"}, "SECRET_KEY", "<0 characters, 0 distinct>", KEY_ACCEPTS),
    production_key(""),
    # What Django's own check (W009) calls weak: short, few distinct characters, or
    # marked insecure, the development key published in hello.py among them.
    production_key(" "),
    production_key("changeme"),
    production_key("x" * 20),
    production_key("abcd" * 20),
    production_key(STRONG_KEY[:49]),
    production_key("django-insecure-" + STRONG_KEY),
    production_key(DEVELOPMENT_KEY),
    hosts(""),
    hosts(" , ,"),
    hosts("example.com:8000"),
    hosts("https://example.com"),
    hosts("example.com/app"),
    hosts("example.com example.org"),
    # Entries Django can never match a request's Host against: every request gets 400.
    hosts("localhost."),
    hosts("my_app"),
    hosts("[1.2.3.4]"),
    hosts("ſite.example"),
    hosts("bücher.example"),
]


@pytest.mark.parametrize("config, name, value, accepted", REFUSED)
def test_a_refused_value_stops_any_command_with_one_line_naming_it(
    config, name, value, accepted
):
    for command in ("check", "runserver"):
        done = run_hello(command, **config)
        assert done.returncode != 0
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(refusal(name, value, accepted))


def test_missing_secret_key_in_production_says_how_to_make_one():
    line = run_hello("check", DEBUG="off").stderr.strip()
    command = line.split("made by: ")[1]
    # Double quotes outside: cmd.exe does not take single quotes as sh does.
    assert command == 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    made = subprocess.run(
        ["sh", "-c", command.replace("python", sys.executable, 1)],
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.strip()
    assert settings_of(DEBUG="off", SECRET_KEY=key)["SECRET_KEY"] == key


def gunicorn_refusing(*options, cwd=ROOT, **config):
    """gunicorn hello, refusing `config`, once it has exited: (exit status, its output)."""
    argv = [str(BIN / "gunicorn"), "hello", "--bind", f"127.0.0.1:{free_port()}"]
    argv += ["--no-control-socket", *options]
    server = Server(argv, environment(**config), cwd=cwd)
    try:
        return server.process.wait(timeout=30), server.output()
    finally:
        server.stop()


@pytest.mark.parametrize("config, name, value, accepted", REFUSED[::3])
def test_a_refused_value_stops_gunicorn_before_any_worker_starts(
    config, name, value, accepted
):
    # gunicorn.conf.py preloads: the master imports hello.py, and the refusal is all
    # it prints.
    status, output = gunicorn_refusing(**config)
    assert status != 0
    lines = output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(refusal(name, value, accepted))


def test_a_refused_value_makes_gunicorn_exit_without_its_config_file_too(tmp_path):
    # Started from another folder, gunicorn reads no gunicorn.conf.py: each worker
    # imports hello.py, and exit status 4 stops the master instead of restarting them.
    status, output = gunicorn_refusing(
        cwd=tmp_path, PYTHONPATH=str(ROOT), DEBUG="sometimes"
    )
    assert status != 0
    assert output.count(refusal("DEBUG", "'sometimes'", FLAG_ACCEPTS)) == 1, output
    assert "Traceback" not in output
    assert "App failed to load" in output


def test_https_variable_of_wsgiref_is_not_read_as_https_only():
    # HTTPS is what wsgiref copies into each request; hello.py must not be configured by it.
    assert settings_of(HTTPS="on")["SECURE_SSL_REDIRECT"] is False


def test_times_are_read_and_shown_in_utc_as_startproject_sets_them():
    # Django's global default is America/Chicago: 10:00Z would come back as 04:00-06:00.
    code = (
        "from django.utils import dateparse, timezone; "
        "print(timezone.localtime(dateparse.parse_datetime('2026-12-07T10:00:00Z')))"
    )
    done = run_hello("shell", "-c", code)
    assert done.stdout.splitlines()[-1] == "2026-12-07 10:00:00+00:00", done.stderr


def test_a_models_own_key_is_64_bit_as_startproject_sets_it():
    # Django 5.2's global default is the 32-bit AutoField, and check warns (W042).
    assert settings_of()["DEFAULT_AUTO_FIELD"] == "django.db.models.BigAutoField"


def test_a_setting_set_below_configure_fails_check_naming_it(tmp_path):
    project = extended_copy(tmp_path, code='TIME_ZONE = "Europe/Paris"\n')
    done = run_hello("check", cwd=project)
    assert done.returncode == 1
    assert (
        "(hello.E001) TIME_ZONE is set below settings.configure(), where Django never "
        "reads it.\n\tHINT: Move it above settings.configure() in hello.py"
    ) in done.stderr, done.stderr


def test_a_class_imported_below_configure_is_no_setting_and_checks_clean(tmp_path):
    # As a view imports django.utils.csp.CSP on Django 6.
    project = extended_copy(tmp_path, code="from http import HTTPStatus\n")
    done = run_hello("check", cwd=project)
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN), done.stderr


def test_the_django_internals_hello_py_reads_still_mean_what_it_expects():
    # hello.py reads three undocumented names of Django's rather than copy them: the
    # rules of check W009, the Host parser, and the logger of a response. A Django
    # release that changes them fails here, loudly, before a user's start-up does.
    from django.core.checks.security import base
    from django.http.request import split_domain_port
    from django.utils.log import log_response

    rules = (
        base.SECRET_KEY_MIN_LENGTH,
        base.SECRET_KEY_MIN_UNIQUE_CHARACTERS,
        base.SECRET_KEY_INSECURE_PREFIX,
    )
    assert rules == (50, 5, "django-insecure-")
    assert split_domain_port("Example.COM:8000") == ("example.com", "8000")
    assert split_domain_port("[::1]") == ("[::1]", "")
    assert callable(log_response)
