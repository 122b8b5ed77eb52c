"""Write the startproject template in project_name/ from the shipped project.

hello.py, gunicorn.conf.py, requirements.txt, Procfile and .python-version are the
source; the template is the same files with `hello` as {{ project_name }}, the
development key as {{ secret_key }} (which Django makes with its django-insecure-
prefix), and the book's line left out of the docstring: the generated project is its
user's own. Its README is HEAD below, then this README's "Configure it" section, then
TAIL: short, and its own, pointing to the template's docs/ for growing it.
After editing any of them, run `python tests/write_template.py`; test_template_it.py
fails until the two sides agree. project_name/.gitignore and the generated project's
own tests, project_name/tests.py-tpl, are written by hand.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "project_name"
DEVELOPMENT_KEY = re.compile(r'"django-insecure-[^"]+"')
BOOK = re.compile(r'^Chapter 1 of "Lightweight Django".*\n', re.MULTILINE)
SECTIONS = ("Configure it",)
# Which template made a project: said in its README. Raise it with every change to
# the template that a project's owner may want to take into their own.
VERSION = "2026.12.1"
HEAD = """\
# {{ project_name }}

A Django project in one file, `{{ project_name }}.py`.
It reads its settings from the environment, answers one page, and gives gunicorn a WSGI `application`.
Run directly, it runs Django's management commands.

Made by `django-admin startproject` from the hello template, version VERSION.
That template's repository holds the tests and measurements behind this README (its tests/README.md), and a page a recipe for growing this project (its docs/).

## Run it

```sh
python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt && python {{ project_name }}.py runserver
```

On Windows, in PowerShell:

```powershell
py -m venv .venv; .venv\\Scripts\\python -m pip install -r requirements.txt; .venv\\Scripts\\python {{ project_name }}.py runserver
```

Open <http://127.0.0.1:8000/>: it says `Hello World`.
Run as `python {{ project_name }}.py`, it is in development: `DEBUG` is on.
Served by `gunicorn {{ project_name }}`, it is in production, and it refuses to start until `SECRET_KEY` is set.

## Test it

```sh
python {{ project_name }}.py test
```

Django's test runner runs `tests.py`, written as Django's own tests are.
Add a test there for each page and setting you add.
Once the project has a database, `django.test.TestCase` gives each test a fresh one ([Django's testing docs](https://docs.djangoproject.com/en/stable/topics/testing/)).

""".replace("version VERSION", f"version {VERSION}")
TAIL = """\
## Deploy it

The `Procfile` runs `gunicorn {{ project_name }}`; platforms start it as the `web` process.
`gunicorn.conf.py` holds gunicorn's options, each explained.
Set `SECRET_KEY` on the platform: on Heroku, Render, Railway and Fly.io, that is all.
The template's docs/platforms.md says how on each platform, and docs/own-server.md how on a server of your own.

## Grow it

The template's docs/ has a page a recipe, each saying which recipes it needs first:
templates-and-static-files.md, database.md, admin.md, models.md, api.md,
shared-cache.md, commands.md and uploads.md.
Paste each block where `{{ project_name }}.py` marks it, and write `{{ project_name }}` where a page writes `hello`.
"""


def as_template(text):
    text = BOOK.sub("", DEVELOPMENT_KEY.sub('"{{ secret_key }}"', text))
    return re.sub(r"\bhello\b", "{{ project_name }}", text)


def readme_sections():
    """This README's sections for a generated project, as template text."""
    readme = (ROOT / "README.md").read_text()
    sections = re.findall(r"(?ms)^(## (.+?)\n.*?)(?=^## |\Z)", readme)
    text = "".join(body for body, title in sections if title in SECTIONS)
    # Links to this repository's pages, as the template's pages, in words.
    text = re.sub(r"\[[^]]+\]\(((?:docs|tests)/[^)]*)\)", r"the template's \1", text)
    # Django's own template tags stay as they are in the new project.
    text = re.sub(r"(\{%|%\}|\{\{|\}\}|\{#|#\})", lambda m: TAGS[m[1]], text)
    return re.sub(r"\bhello\b", "{{ project_name }}", text)


TAGS = {
    "{%": "{% templatetag openblock %}",
    "%}": "{% templatetag closeblock %}",
    "{{": "{% templatetag openvariable %}",
    "}}": "{% templatetag closevariable %}",
    "{#": "{% templatetag opencomment %}",
    "#}": "{% templatetag closecomment %}",
}


def write():
    for source, target in [
        ("hello.py", "project_name.py-tpl"),
        ("gunicorn.conf.py", "gunicorn.conf.py-tpl"),
        ("requirements.txt", "requirements.txt"),
        ("Procfile", "Procfile"),
        (".python-version", ".python-version"),
    ]:
        (TEMPLATE / target).write_text(as_template((ROOT / source).read_text()))
    (TEMPLATE / "README.md").write_text(HEAD + readme_sections() + TAIL)


if __name__ == "__main__":
    write()
