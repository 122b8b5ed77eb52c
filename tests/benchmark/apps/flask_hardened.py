"""Flask's quickstart with the protections hello.py has, configured as each library's
documentation shows: only the site's own Host names (Flask's TRUSTED_HOSTS), trust in
the proxy's X-Forwarded-Proto (werkzeug's ProxyFix), HTTPS redirect, HSTS, CSP, frame
and sniffing headers and secure cookies (flask-talisman), CSRF protection (Flask-WTF).
"""

import os

from flask import Flask
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
app.config["TRUSTED_HOSTS"] = ["localhost", "127.0.0.1", "[::1]"]
app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)
Talisman(
    app,
    content_security_policy={"default-src": "'none'", "frame-ancestors": "'none'"},
    frame_options="DENY",
)
CSRFProtect(app)


@app.route("/")
def hello_world():
    return "Hello World"
