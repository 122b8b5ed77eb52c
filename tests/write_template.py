"""Write the startproject template in project_name/ from the shipped project.

hello.py, requirements.txt, Procfile and .python-version are the source; the template
is the same files with `hello` as {{ project_name }}, the development key as
{{ secret_key }} (which Django makes with its django-insecure- prefix), and the book's
line left out of the docstring: the generated project is its user's own. Its README
is HEAD below followed by this README's Configuration, Deploy, Grow it, More than
one instance, Out of one file and On Windows sections, less the lines about this
repository's tests.
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
SECTIONS = (
    "Configuration",
    "Deploy",
    "Grow it",
    "More than one instance",
    "Out of one file",
    "On Windows",
)
# Which template made a project: said in its README. Raise it with every change to
# the template that a project's owner may want to take into their own.
VERSION = "2026.12.0"
HEAD = """\
# {{ project_name }}

A Django project in one file, `{{ project_name }}.py`: settings read from the
environment, one view, its URL, a WSGI `application` for gunicorn, and Django's
management commands when you run it.
Made by `django-admin startproject` from the hello template, version VERSION: the
tests and measurements behind what this README says live in that template's
repository (its tests/README.md and tests/benchmark/README.md).

## Run it

```sh
python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt && python {{ project_name }}.py runserver
```

On Windows, in PowerShell:

```powershell
py -m venv .venv; .venv\\Scripts\\python -m pip install -r requirements.txt; .venv\\Scripts\\python {{ project_name }}.py runserver
```

Open <http://127.0.0.1:8000/>. Run as `python {{ project_name }}.py`, it develops
(`DEBUG` on); served by `gunicorn {{ project_name }}`, it is in production and
wants `SECRET_KEY` (Configuration). With uv, from the file alone: `uv run
{{ project_name }}.py runserver`. Then deploy it (Deploy), or grow it into templates,
static files, a database and the admin (Grow it).

## Test it

```sh
python {{ project_name }}.py test
```

Django's test runner runs `tests.py`, written as Django's own tests are: the test
client for pages, `override_settings` for a setting a test changes, and a process of
its own only for what happens as the file is imported (a refused value). Add a test
there for each page and setting you add; once the project has a database,
`django.test.TestCase` gives each test a fresh one
([Django's testing docs](https://docs.djangoproject.com/en/stable/topics/testing/)).

""".replace("version VERSION", f"version {VERSION}")


def as_template(text):
    text = BOOK.sub("", DEVELOPMENT_KEY.sub('"{{ secret_key }}"', text))
    return re.sub(r"\bhello\b", "{{ project_name }}", text)


def readme_sections():
    """This README's sections for a generated project, as template text."""
    readme = (ROOT / "README.md").read_text()
    sections = re.findall(r"(?ms)^(## (.+?)\n.*?)(?=^## |\Z)", readme)
    text = "".join(body for body, title in sections if title in SECTIONS)
    text = re.sub(r"\[([^]]+)\]\(tests/[^)]*\)", r"\1", text)  # links, as their words
    text = "".join(line for line in text.splitlines(True) if "tests/" not in line)
    # Django's own template tags in the recipes stay as they are in the new project.
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
        ("requirements.txt", "requirements.txt"),
        ("Procfile", "Procfile"),
        (".python-version", ".python-version"),
    ]:
        (TEMPLATE / target).write_text(as_template((ROOT / source).read_text()))
    (TEMPLATE / "README.md").write_text(HEAD + readme_sections())


if __name__ == "__main__":
    write()
