"""hello.py plus the views some tests need: one that raises, and a signing pair.

Served as `gunicorn instrumented:application` with this folder and the project on
PYTHONPATH (support.servers.INSTRUMENTED):
the same settings, middleware and logging as hello.py, with more URLs.
"""

from django.core import signing
from django.http import HttpResponse
from django.urls import path

import hello
from hello import application  # noqa: F401  (the WSGI callable gunicorn serves)


def broken(request):
    raise RuntimeError("a bug in a view")


def sign(request):
    return HttpResponse(signing.dumps(request.GET["value"]))


def unsign(request):
    try:
        return HttpResponse(signing.loads(request.GET["token"]))
    except signing.BadSignature:
        return HttpResponse("bad signature", status=403)


hello.urlpatterns += [
    path("broken", broken),
    path("sign", sign),
    path("unsign", unsign),
]
