"""Grow it recipe by recipe: each page in docs/ applied alone on top of what its "After:"
line says it needs, as a user who wants only that recipe applies it; and no recipe
binds a name that hello.py or another recipe binds to something else."""

import ast
import json
import re

import pytest
from support.extend import docs_recipes, grown_copy, with_what_it_needs
from support.project import CHECK_CLEAN, ROOT, run_hello

RECIPES = docs_recipes()

# What each recipe adds that a user sees first, asked through Django's test client in
# the grown copy: {title: (path, status)}.
FIRST_PAGE = {
    "Templates and static files": ("/static/site.css", 200),
    "A database": ("/up", 200),
    "The admin, its login guarded": ("/admin/login/", 200),
    "Your own models": ("/sprints/", 302),
    "An API": ("/api/sprints/", 403),
    "A shared cache": ("/", 200),
    "Your own commands": ("/sprints/", 302),
    "Uploads": ("/uploads/", 200),
}

ASK = """
import json
import re
from django.core.cache import cache
from django.test import Client
cache.set("asked", "kept")
client = Client(HTTP_HOST="localhost")
print(json.dumps([client.get(path).status_code for path in ["/", "/up", {path!r}]]
                 + [cache.get("asked")]))
"""


def test_every_recipe_page_says_what_it_needs_and_the_readme_lists_it_after_those():
    titles = list(RECIPES)
    assert set(FIRST_PAGE) == set(titles)
    for position, (title, recipe) in enumerate(RECIPES.items()):
        assert "After: " in recipe.page.read_text(), recipe.page
        assert all(titles.index(need) < position for need in recipe.needs), title


@pytest.mark.parametrize("title", list(RECIPES))
def test_a_recipe_alone_on_what_it_needs_checks_clean_and_serves(tmp_path, title):
    chosen = with_what_it_needs(title)
    project = grown_copy(tmp_path, recipes=chosen)
    if "Templates and static files" in chosen:
        (project / "static").mkdir(exist_ok=True)
        (project / "static" / "site.css").write_text("body { margin: 0 }\n")
    done = run_hello("check", "--fail-level", "WARNING", cwd=project)
    assert (done.returncode, done.stdout.strip()) == (0, CHECK_CLEAN), done.stderr
    if "A database" in chosen:
        done = run_hello("migrate", "--noinput", cwd=project, timeout=120)
        assert done.returncode == 0, done.stderr
    path, status = FIRST_PAGE[title]
    done = run_hello("shell", "-c", ASK.format(path=path), cwd=project, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [200, 200, status, "kept"]


def bindings(code):
    """{name: what binds it} for the names `code` binds at module level: an import
    by what it imports, anything else as its own. `+=` extends, and binds nothing."""
    bound = {}
    for statement in ast.parse(code).body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                name = alias.asname or alias.name.split(".")[0]
                bound[name] = f"import {alias.name}"
        elif isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                bound[alias.asname or alias.name] = (
                    f"from {statement.module} import {alias.name}"
                )
        elif isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            bound[statement.name] = ast.dump(statement)
        elif not isinstance(statement, ast.AugAssign):
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    bound[node.id] = ast.dump(statement)
    return bound


def test_no_recipe_binds_a_name_that_hello_py_or_another_recipe_binds_otherwise():
    sources = {"hello.py": bindings((ROOT / "hello.py").read_text())}
    for title, recipe in RECIPES.items():
        sources[title] = bindings(recipe.settings + recipe.models + recipe.code)
    clashes = []
    owners = {}
    for source, bound in sources.items():
        for name, what in bound.items():
            if name in owners and owners[name][1] != what:
                clashes.append(f"{name!r}: {owners[name][0]} and {source}")
            owners.setdefault(name, (source, what))
    assert clashes == []


def test_the_names_check_finds_a_recipe_that_rebinds_hello_pys_import():
    # As the static recipe once did: `security = MIDDLEWARE.index(...)`.
    recipe = bindings("security = MIDDLEWARE.index('x')")
    assert recipe["security"] != bindings((ROOT / "hello.py").read_text())["security"]


REFUSED_PASSWORDS = """
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
for password, user in [("password", None), ("2718281828", None), ("ada-lovelace", User(username="ada-lovelace"))]:
    try:
        validate_password(password, user)
        print("accepted")
    except ValidationError as error:
        print(error.messages[0])
"""


def test_the_admin_refuses_the_passwords_startproject_refuses(tmp_path):
    project = grown_copy(
        tmp_path, recipes=with_what_it_needs("The admin, its login guarded")
    )
    done = run_hello("shell", "-c", REFUSED_PASSWORDS, cwd=project)
    assert done.stdout.splitlines()[-3:] == [
        "This password is too common.",
        "This password is entirely numeric.",
        "The password is too similar to the username.",
    ], done.stderr


def test_no_recipe_reaches_into_a_private_name_or_a_read_only_attribute():
    for title, recipe in RECIPES.items():
        code = recipe.settings + recipe.models + recipe.code
        code += "".join(recipe.variants.values())
        private = set(re.findall(r"\.(_[a-z]\w*)", code))
        # Model._meta is Django's documented Model _meta API.
        assert private <= {"_meta"}, (title, private)
        assert "models_module" not in code, title


def test_the_books_build_command_renders_the_pages_to_files(tmp_path):
    project = grown_copy(tmp_path, recipes=with_what_it_needs("Your own commands"))
    assert run_hello("migrate", "--noinput", cwd=project).returncode == 0
    done = run_hello("build", cwd=project)
    assert (done.returncode, done.stdout) == (0, "/ -> build/index.html\n"), done.stderr
    assert (project / "build" / "index.html").read_text() == "Hello World"
    listed = run_hello("help", cwd=project).stdout
    assert "[hello]\n    build\n" in listed, listed
    # A page that is not there stops the command with Django's one line and exit 1.
    done = run_hello("build", "/missing/", cwd=project)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "CommandError: /missing/ answered 404"
