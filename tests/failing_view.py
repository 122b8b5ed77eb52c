"""hello.py with one more URL whose view raises, to see what a bug shows users and logs.

Served as `gunicorn failing_view:application` with tests/ and the project on PYTHONPATH.
"""

from django.urls import path

import hello
from hello import application  # noqa: F401  (the WSGI callable gunicorn serves)


def broken(request):
    raise RuntimeError("a bug in a view")


hello.urlpatterns.append(path("broken", broken))
