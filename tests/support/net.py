"""Loopback ports and one HTTP request at a time."""

import http.client
import socket
import ssl


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(
    port,
    path="/",
    method="GET",
    host="127.0.0.1",
    headers=None,
    body=None,
    address="127.0.0.1",
    timeout=10,
    source=None,
    tls=False,
):
    """One HTTP request, from the `source` address if given, over TLS (any certificate)
    if `tls`; returns (status, headers as a lower-cased dict, body as text)."""
    options = {"timeout": timeout, "source_address": (source, 0) if source else None}
    if tls:
        options["context"] = (
            ssl._create_unverified_context()
        )  # the tests' own certificate
    connection = http.client.HTTPSConnection if tls else http.client.HTTPConnection
    conn = connection(address, port, **options)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read().decode("utf-8", "replace"),
        )
    finally:
        conn.close()
