"""The ceiling: a WSGI callable that does nothing but answer."""


def application(environ, start_response):
    body = b"Hello World"
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]
