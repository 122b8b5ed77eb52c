"""nanodjango's hello world, configured for production as its README says (gunicorn APP:app)."""

import os

from nanodjango import Django

app = Django(
    DEBUG=False,
    SECRET_KEY=os.environ["SECRET_KEY"],
    ALLOWED_HOSTS=["localhost", "127.0.0.1"],
)


@app.route("/")
def index(request):
    return "Hello World"
