"""Deploy it on a platform: the Procfile as Heroku, Render, Railway and Fly.io run it,
each simulated by the variables its documentation says it sets, with SECRET_KEY the
only one the user adds; requests come from 127.0.0.2, an address gunicorn does not
trust, as a platform's router is. And /up, the health path every platform can probe.
"""

import pytest
from support.extend import DATABASE, VIEW_THAT_WAITS, extended_copy
from support.net import free_port, request
from support.project import CHECK_CLEAN, STRONG_KEY, run_hello, settings_of
from support.servers import gunicorn_plain, honcho_procfile

PLATFORMS = {
    # A new Heroku app: DYNO, and no dyno metadata (HEROKU_APP_DEFAULT_DOMAIN_NAME
    # needs `heroku labs:enable runtime-dyno-metadata`); the Python buildpack sets
    # FORWARDED_ALLOW_IPS, so gunicorn itself trusts the router there.
    "heroku": (
        {"DYNO": "web.1", "FORWARDED_ALLOW_IPS": "*"},
        "hello-x1-0123456789ab.herokuapp.com",
    ),
    # https://render.com/docs/environment-variables
    "render": (
        {"RENDER": "true", "RENDER_EXTERNAL_HOSTNAME": "hello-x1.onrender.com"},
        "hello-x1.onrender.com",
    ),
    # https://docs.railway.com/reference/variables#railway-provided-variables
    "railway": (
        {
            "RAILWAY_ENVIRONMENT": "production",
            "RAILWAY_PUBLIC_DOMAIN": "hello-x1.up.railway.app",
            "RAILWAY_PRIVATE_DOMAIN": "hello-x1.railway.internal",
        },
        "hello-x1.up.railway.app",
    ),
    # https://fly.io/docs/machines/runtime-environment/ (PORT comes from fly.toml's [env])
    "fly.io": ({"FLY_APP_NAME": "hello-x1"}, "hello-x1.fly.dev"),
}
ROUTER = {"source": "127.0.0.2"}
SECURITY_HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
)


@pytest.fixture(scope="module", params=PLATFORMS)
def platform(request):
    """The Procfile under honcho with the platform's variables and SECRET_KEY."""
    variables, host = PLATFORMS[request.param]
    port = free_port()
    with honcho_procfile(port, SECRET_KEY=STRONG_KEY, **variables) as server:
        yield server, port, host


def through_the_router(platform, path="/", scheme="https", **options):
    server, port, host = platform
    headers = {"X-Forwarded-Proto": scheme, **options.pop("headers", {})}
    options = {"host": host, **options}
    return server.request(port, path=path, headers=headers, **ROUTER, **options)


def test_its_host_over_https_answers_with_hsts(platform):
    status, headers, body = through_the_router(platform)
    assert (status, body) == (200, "Hello World")
    assert headers["strict-transport-security"].startswith("max-age=31536000")


def test_plain_http_is_redirected_to_https(platform):
    status, headers, _ = through_the_router(platform, "/?page=2", scheme="http")
    assert (status, headers["location"]) == (301, f"https://{platform[2]}/?page=2")


def test_a_same_origin_form_with_its_csrf_token_is_accepted(platform):
    token = "a" * 16 + "B" * 16  # a CSRF secret, sent as cookie and as form token
    headers = {
        "Origin": f"https://{platform[2]}",
        "Cookie": f"csrftoken={token}",
        "X-CSRFToken": token,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status, _, body = through_the_router(
        platform, method="POST", headers=headers, body="a=1"
    )
    assert (status, body) == (200, "Hello World")
    headers["Origin"] = "https://evil.example"
    assert through_the_router(platform, method="POST", headers=headers)[0] == 403


def test_a_foreign_host_is_refused_where_the_router_passes_it_on(platform):
    # Heroku's router passes on only requests for the app's own domains (its own
    # python-getting-started allows any Host there); the others' may pass on any.
    on_heroku = platform[2].endswith(".herokuapp.com")
    assert through_the_router(platform, host="evil.example")[0] == (
        200 if on_heroku else 400
    )


@pytest.mark.parametrize("host", ["healthcheck.railway.app", "10.0.0.7:8080", ""])
def test_the_health_probe_gets_200_whatever_its_host_and_scheme(platform, host):
    status, headers, body = through_the_router(platform, "/up", scheme="", host=host)
    assert (status, body) == (200, "up\n")
    assert headers["cache-control"] == "no-store"
    for name in SECURITY_HEADERS:
        assert name in headers, name


@pytest.mark.parametrize("name", PLATFORMS)
def test_check_deploy_is_clean_with_only_secret_key_set(name):
    variables, _ = PLATFORMS[name]
    done = run_hello(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=STRONG_KEY,
        **variables,
    )
    clean = CHECK_CLEAN.replace("(0 silenced)", "(1 silenced)")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, clean, "")


@pytest.mark.parametrize("name", PLATFORMS)
def test_what_the_user_sets_still_wins_over_the_platforms_defaults(name):
    variables, host = PLATFORMS[name]
    settings = settings_of(SECRET_KEY=STRONG_KEY, **variables)
    assert settings["DEBUG"] is False and settings["SECURE_SSL_REDIRECT"] is True
    announced = {
        "heroku": ["*"],
        "railway": [host, "hello-x1.railway.internal"],
    }.get(name, [host])
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]", *announced]
    mine = {"DEBUG": "on", "HTTPS_ONLY": "off", "ALLOWED_HOSTS": "example.com"}
    settings = settings_of(**variables, **mine)
    assert settings["DEBUG"] is True and settings["SECURE_SSL_REDIRECT"] is False
    assert settings["ALLOWED_HOSTS"] == ["example.com"]


def test_a_new_heroku_app_serves_its_herokuapp_host_and_its_custom_domains():
    variables, host = PLATFORMS["heroku"]
    port = free_port()
    with honcho_procfile(port, SECRET_KEY=STRONG_KEY, **variables) as server:
        heroku = (server, port, host)
        # `heroku domains:add www.example.com` routes that domain here too.
        for name in (host, "www.example.com"):
            assert through_the_router(heroku, host=name)[::2] == (200, "Hello World")


def test_heroku_ci_is_not_production():
    # Heroku CI runs the tests in a dyno, DYNO and CI both set.
    settings = settings_of(DYNO="run.1", CI="true")
    assert settings["DEBUG"] is True and settings["SECURE_SSL_REDIRECT"] is False
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]


def test_a_railway_service_with_only_a_private_domain_serves_it():
    settings = settings_of(
        SECRET_KEY=STRONG_KEY,
        RAILWAY_ENVIRONMENT="production",
        RAILWAY_PRIVATE_DOMAIN="worker.railway.internal",
    )
    assert settings["ALLOWED_HOSTS"][-1] == "worker.railway.internal"


@pytest.mark.parametrize(
    "variables, name",
    [
        ({"RAILWAY_ENVIRONMENT": "production"}, "Railway"),
        ({"RENDER": "true"}, "Render"),
    ],
    ids=["railway", "render"],
)
def test_a_platform_that_announces_no_host_refuses_to_start_until_one_is_set(
    variables, name
):
    done = run_hello("check", SECRET_KEY=STRONG_KEY, **variables)
    refusal = f"hello.py: ALLOWED_HOSTS=<unset> is refused; set it: {name} announces no host name\n"
    assert (done.returncode, done.stdout, done.stderr) == (4, "", refusal)
    done = run_hello(
        "check", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.com", **variables
    )
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN)


def test_off_a_platform_nothing_changes():
    settings = settings_of()
    assert settings["DEBUG"] is True and settings["SECURE_SSL_REDIRECT"] is False


@pytest.fixture(scope="module")
def hello_in_production():
    port = free_port()
    with gunicorn_plain(
        port, DEBUG="off", SECRET_KEY=STRONG_KEY, HTTPS_ONLY="on"
    ) as server:
        yield port, server


@pytest.mark.parametrize(
    "method, path, host, status",
    [
        ("GET", "/up", "evil.example", 200),
        ("HEAD", "/up", "203.0.113.9:1234", 200),
        ("GET", "/up?full=1", "x" * 300, 200),
        ("POST", "/up", "evil.example", 400),  # only GET and HEAD skip the checks
        ("DELETE", "/up", "localhost", 404),  # /up is no page of the site's
        ("GET", "/up/", "evil.example", 400),
        ("GET", "/up" + "x" * 4000, "localhost", 301),
        ("GET", "/", "evil.example", 400),  # every other path keeps Host validation
        ("GET", "/", "localhost", 301),  # and the redirect
    ],
)
def test_only_get_and_head_of_up_skip_host_validation_and_the_redirect(
    hello_in_production, method, path, host, status
):
    port, server = hello_in_production
    assert request(port, path, method, host=host, body=b"x" * 1000)[0] == status
    assert "Traceback" not in server.output()


def test_up_reports_a_database_that_does_not_answer_with_503(tmp_path):
    unreachable = DATABASE.replace(
        '{"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}',
        '{"ENGINE": "django.db.backends.sqlite3", "NAME": "/nonexistent/db.sqlite3"}',
    )
    project = extended_copy(tmp_path, settings=unreachable, code=VIEW_THAT_WAITS)
    port = free_port()
    with gunicorn_plain(
        port, cwd=project, DEBUG="off", SECRET_KEY=STRONG_KEY
    ) as server:
        before = server.output()
        status, headers, body = request(port, "/up", host="healthcheck.railway.app")
        assert (status, body) == (503, "database unreachable\n")
        assert headers["cache-control"] == "no-store"
        logged = server.output().removeprefix(before)
        line = " ERROR django.request: /up: unable to open database file"
        assert logged.count(line) == 1, logged
        assert len(logged.splitlines()) == 1, logged
        # The site's other pages keep their usual answers and errors.
        assert request(port, host="localhost")[::2] == (200, "Hello World")
        status, _, body = request(port, "/visits", host="localhost")
        assert status == 500 and "<h1>Server Error (500)</h1>" in body
