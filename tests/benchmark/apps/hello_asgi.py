"""hello.py's project behind Django's ASGI handler, for gunicorn's asgi worker."""

from django.core.asgi import get_asgi_application

import hello  # noqa: F401  (configures Django from the environment)

application = get_asgi_application()
