"""Grow it with an API: the README's "An API" recipe (Django REST framework, the book's
chapter 4) in a copy grown by every recipe, served as the Procfile serves it on
PostgreSQL behind nginx terminating TLS: a Python client as the book's, the browsable
API in Chromium under the policy, and its logins guarded like the admin's.
"""

import collections
import json
import re
from urllib.parse import urlencode

import django
import pytest
from hypothesis import HealthCheck, given, settings
from support import api_hostile
from support.browser import chromium, violations
from support.extend import ADMIN, ADMIN_PASSWORD, CREATE_ADMIN, grown_copy
from support.net import free_port, request
from support.servers import gunicorn_procfile_options
from test_attack_it import send_headers_then_the_body
from test_grow_it import GROWN, https, release, run, served_behind_tls, wait_for

requests = pytest.importorskip("requests")


# On Django 6, a nonce in the policy, as its docs show: the browsable API's own policy
# must still be valid, and the browser must report nothing.
NONCE = """
from django.utils.csp import CSP

SECURE_CSP["script-src"] = [CSP.SELF, CSP.NONCE]
"""


# A DRF view of the user's own, written after the recipe, as the next one will be.
ECHO = """
from rest_framework.response import Response
from rest_framework.views import APIView


class Echo(APIView):
    def post(self, request):
        return Response({"received": len(request.data)})


urlpatterns += [path("api/echo/", Echo.as_view())]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, database):
    nonce = NONCE if django.VERSION >= (6,) else ""
    directory = grown_copy(tmp_path_factory.mktemp("api"), settings=nonce, code=ECHO)
    release(directory, DATABASE_URL=database.url)
    created = run(directory, *CREATE_ADMIN, **ADMIN_PASSWORD, DATABASE_URL=database.url)
    assert created.returncode == 0, created.stderr
    return directory


@pytest.fixture(scope="module")
def site(project, database):
    with served_behind_tls(project, DATABASE_URL=database.url) as url:
        yield url


@pytest.fixture
def api(site, project):
    """A requests session as the book's client: a token asked for once, then sent;
    TLS verified against the certificate nginx was given for localhost."""
    session = requests.Session()
    # Not the environment's CA bundle, which would override the certificate.
    session.trust_env = False
    session.verify = str(project / f"nginx-{site.rsplit(':', 1)[1]}" / "cert.pem")
    answer = session.post(f"{site}/api/token/", data=ADMIN, timeout=10)
    assert answer.status_code == 200, answer.text
    session.headers["Authorization"] = f"Token {answer.json()['token']}"
    yield session
    session.close()


def test_a_python_client_creates_lists_filters_updates_and_deletes(site, api):
    anonymous = requests.get(f"{site}/api/sprints/", verify=api.verify, timeout=10)
    assert anonymous.status_code == 403
    sprint = api.post(f"{site}/api/sprints/", data={"name": "One", "end": "2031-01-09"})
    assert sprint.status_code == 201, sprint.text
    sprint = sprint.json()
    assert sprint["url"].startswith(f"{site}/api/sprints/")
    tasks = [
        {"name": "Plan", "sprint": sprint["url"], "status": 2, "assigned": "admin"},
        {"name": "Write it", "sprint": sprint["url"]},
        {"name": "Later"},
    ]
    made = [api.post(f"{site}/api/tasks/", json=task) for task in tasks]
    assert [answer.status_code for answer in made] == [201, 201, 201]
    linked = api.get(sprint["url"]).json()["tasks"]
    assert linked == [answer.json()["url"] for answer in made[:2]]
    found = api.get(f"{site}/api/tasks/", params={"status": 2, "assigned": "admin"})
    assert [task["name"] for task in found.json()["results"]] == ["Plan"]
    backlog = api.get(f"{site}/api/tasks/", params={"backlog": "true"}).json()
    assert [task["name"] for task in backlog["results"]] == ["Later"]
    searched = api.get(f"{site}/api/tasks/", params={"search": "write"}).json()
    assert [task["name"] for task in searched["results"]] == ["Write it"]
    ordered = api.get(f"{site}/api/tasks/", params={"ordering": "-name"}).json()
    assert [task["name"] for task in ordered["results"]] == [
        "Write it",
        "Plan",
        "Later",
    ]
    task = made[0].json()["url"]
    done = api.patch(task, json={"status": 4, "completed": "2031-01-08"})
    assert (done.status_code, done.json()["status_display"]) == (200, "Done")
    assert api.delete(task).status_code == 204
    assert api.get(task).status_code == 404


def test_invalid_changes_are_answered_400_in_json_saying_why(site, api):
    past = api.post(f"{site}/api/sprints/", json={"end": "2001-01-01"})
    assert (past.status_code, past.json()) == (
        400,
        {"end": ["A sprint cannot end in the past."]},
    )
    for task, why in [
        ({"name": "x", "status": 2}, "A task in no sprint is not started."),
        (
            {"name": "x", "started": "2031-01-01"},
            "A task not started has no start date.",
        ),
        (
            {"name": "x", "completed": "2031-01-01"},
            "A task not done has no completion date.",
        ),
    ]:
        answer = api.post(f"{site}/api/tasks/", json=task)
        assert (answer.status_code, answer.json()) == (400, {"non_field_errors": [why]})
    wrong = api.post(f"{site}/api/tasks/", json={"name": 5, "status": "soon", "due": 3})
    assert wrong.status_code == 400 and set(wrong.json()) == {"status", "due"}


@pytest.mark.parametrize("path", ["/api/tasks/", "/api/token/", "/api/echo/"])
@pytest.mark.parametrize("nested", ["[" * 100_000, '{"name":' * 100_000])
def test_json_nested_deeper_than_python_parses_is_a_400(site, api, path, nested):
    headers = {"Content-Type": "application/json"}
    answer = api.post(f"{site}{path}", data=nested, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"detail": "JSON parse error - nested too deeply"}


def test_the_browsable_apis_policy_is_the_sites_with_inline_styles_and_valid(site):
    status, headers, _ = https(site, "/api/auth/login/")
    policy = headers["content-security-policy"]
    assert status == 200 and "<" not in policy, policy
    assert (
        "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self'" in policy
    )
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_pages_hold_twenty_and_one_out_of_range_is_a_404(site, api):
    for number in range(25):
        api.post(f"{site}/api/tasks/", json={"name": f"Page {number:02}"})
    first = api.get(f"{site}/api/tasks/", params={"search": "Page"}).json()
    assert (first["count"], len(first["results"])) == (25, 20)
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None
    for page in ("3", "0", "x", "9" * 30):
        answer = api.get(f"{site}/api/tasks/", params={"search": "Page", "page": page})
        assert answer.status_code == 404, page


def log_in_to_the_api(browser, site):
    browser.get(f"{site}/api/auth/login/?next=/api/sprints/")
    assert violations(browser) == [], "login page"
    browser.find_element("name", "username").send_keys(ADMIN["username"])
    browser.find_element("name", "password").send_keys(ADMIN["password"])
    browser.find_element("css selector", "[type=submit]").click()
    wait_for(lambda: "Sprint List" in browser.title)


def test_in_a_browser_the_browsable_api_logs_in_lists_and_creates_under_the_policy(
    site,
):
    with chromium() as browser:
        log_in_to_the_api(browser, site)
        assert violations(browser) == [], "login and list"
        # DRF's stylesheets and scripts, through WhiteNoise under their hashed names.
        navbar = browser.find_element("css selector", ".navbar")
        assert navbar.value_of_css_property("position") == "fixed"
        files = [
            element.get_attribute("href") or element.get_attribute("src")
            for element in browser.find_elements(
                "css selector", "link[rel=stylesheet], script[src]"
            )
        ]
        assert len(files) > 5 and all(
            re.search(r"/static/rest_framework/.+\.[0-9a-f]{12}\.(css|js)$", url)
            for url in files
        ), files
        assert browser.execute_script("return typeof window.jQuery") == "function"
        form = browser.find_element("css selector", "#post-object-form form")
        form.find_element("name", "name").send_keys("From the browser")
        end = form.find_element("name", "end")
        # A date input takes what its locale shows: the value as the date picker sets it.
        browser.execute_script("arguments[0].value = '2032-05-07'", end)
        form.find_element("css selector", ".form-actions button").click()
        wait_for(lambda: "HTTP 201 Created" in browser.page_source)
        assert "From the browser" in browser.page_source
        assert violations(browser) == [], "created"
        # The template's plain logout form, where DRF's link ran inline code.
        browser.find_element("css selector", ".navbar form button").click()
        wait_for(lambda: browser.find_elements("link text", "Log in"))
        assert violations(browser) == [], "logged out"


def test_a_body_over_the_cap_is_refused_413_unread(project, database, api):
    size, port = 100 * 1024 * 1024, free_port()
    token = api.headers["Authorization"].encode()
    head = (
        b"POST /api/tasks/ HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Proto: https\r\n"
        b"Authorization: %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (token, size)
    )
    config = {**GROWN, "DATABASE_URL": database.url}
    with gunicorn_procfile_options(port, cwd=project, **config) as server:
        status = send_headers_then_the_body(port, head, size, send_body=False)
        log = server.output()
    assert status == 413 and "Traceback" not in log


def form_login(port, password, source, forwarded):
    """DRF's login page, filled in from `source` with X-Forwarded-For `forwarded`,
    through the router: the status of the POST."""
    send = {"host": f"localhost:{port}", "tls": True, "source": source}
    headers = {"X-Forwarded-For": forwarded}
    status, answer, page = request(port, "/api/auth/login/", headers=headers, **send)
    assert status == 200, page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    headers |= {
        "Cookie": answer["set-cookie"].split(";")[0],
        "Origin": f"https://localhost:{port}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    form = (
        f"csrfmiddlewaretoken={token}&username={ADMIN['username']}&password={password}"
    )
    path = "/api/auth/login/?next=/api/"
    return request(port, path, method="POST", body=form, headers=headers, **send)[0]


def token_login(port, password, source, forwarded):
    """The token endpoint, asked from `source` with X-Forwarded-For `forwarded`."""
    body = json.dumps({"username": ADMIN["username"], "password": password})
    headers = {"X-Forwarded-For": forwarded, "Content-Type": "application/json"}
    send = {"host": f"localhost:{port}", "tls": True, "source": source}
    return request(
        port, "/api/token/", method="POST", body=body, headers=headers, **send
    )[0]


def test_a_stranger_guessing_at_the_token_endpoint_is_stopped_not_the_owner(
    site, project, database
):
    port = int(site.rsplit(":", 1)[1])
    stranger = "127.0.0.2"
    guesses = [
        token_login(port, f"guess-{n}", stranger, f"198.51.100.{n}") for n in range(6)
    ]
    right = token_login(port, ADMIN["password"], stranger, "198.51.100.99")
    # The same rule stops the browsable API's login, the same pair being locked.
    page = form_login(port, ADMIN["password"], stranger, "198.51.100.98")
    owner = token_login(port, ADMIN["password"], "127.0.0.3", "198.51.100.97")
    reset = run(project, "axes_reset", DATABASE_URL=database.url)
    assert reset.returncode == 0, reset.stderr
    after = token_login(port, ADMIN["password"], stranger, "198.51.100.96")
    print(
        f"\nfigures: token guesses {guesses}, then the right password {right}; the "
        f"login page {page}; the owner elsewhere {owner}; after axes_reset {after}"
    )
    assert guesses == [400] * 4 + [429, 429]
    assert (right, page, owner, after) == (429, 429, 200, 200)


@pytest.fixture(scope="module", params=["off", "on"], ids=["DEBUG off", "DEBUG on"])
def served(request, project, database):
    """The grown copy under the Procfile's gunicorn, reached as the router reaches it."""
    port = free_port()
    config = {**GROWN, "DEBUG": request.param, "DATABASE_URL": database.url}
    with gunicorn_procfile_options(port, workers=2, cwd=project, **config) as server:
        yield server, port


@pytest.fixture(scope="module")
def token(project, database):
    made = run(
        project, "drf_create_token", ADMIN["username"], DATABASE_URL=database.url
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.split()[2]


TRIED = collections.Counter()


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(sent=api_hostile.requests)
def test_no_request_no_one_listed_gets_a_5xx_from_the_api(served, token, sent):
    server, port = served
    # Past what starting it logged (with DEBUG on, the probe's refused Host).
    before = len(server.output())
    target = sent["path"] + ("?" + urlencode(sent["query"]) if sent["query"] else "")
    headers = {
        "X-Forwarded-Proto": "https",
        "Authorization": f"Token {token}",
        "Content-Type": sent["content_type"],
    }
    status, _, body = request(
        port, target, method=sent["method"], host="localhost", headers=headers,
        body=sent["body"], timeout=30,
    )  # fmt: skip
    TRIED[status] += 1
    assert status < 500, (sent["method"], target, sent["body"][:200], body[:2000])
    assert "Traceback" not in server.output()[before:]


def test_the_search_tried_every_kind_of_answer():
    # Run after the search: it reached the API's answers, not only its refusals.
    print(f"\nfigures: the API's answers to generated requests: {dict(TRIED)}")
    assert {200, 201, 400, 404, 405} <= set(TRIED), TRIED
