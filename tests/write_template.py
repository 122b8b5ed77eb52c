"""Write the startproject template in project_name/ from the shipped project.

hello.py, requirements.txt, Procfile and .python-version are the source; the template
is the same files with `hello` as {{ project_name }} and the development key as
{{ secret_key }} (which Django makes with its django-insecure- prefix).
After editing any of them, run `python tests/write_template.py`; test_template_it.py
fails until the two sides agree. project_name/README.md is written by hand.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_KEY = re.compile(r'"django-insecure-[^"]+"')


def as_template(text):
    text = DEVELOPMENT_KEY.sub('"{{ secret_key }}"', text)
    return re.sub(r"\bhello\b", "{{ project_name }}", text)


if __name__ == "__main__":
    for source, target in [
        ("hello.py", "project_name.py-tpl"),
        ("requirements.txt", "requirements.txt"),
        ("Procfile", "Procfile"),
        (".python-version", ".python-version"),
    ]:
        text = (ROOT / source).read_text()
        (ROOT / "project_name" / target).write_text(as_template(text))
