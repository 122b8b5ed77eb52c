"""A property-based search for a request that makes hello.py answer 5xx.

Run by test_attack_it.py in a process of its own, configured by its environment:
Hypothesis generates request targets (origin-form, absolute-form, `//` paths),
Host values with and without ports, methods and body lengths, of the characters
gunicorn lets through, and drives hello.py's WSGI application with each, in process,
as gunicorn would. It prints how many requests it tried and each status it got, and
exits non-zero, with Hypothesis's smallest failing example, if one answered 5xx.
"""

import io
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import hello  # configured by this process's environment

# What gunicorn passes on: a request-target of visible ASCII, and header values that may
# also hold spaces, tabs and bytes past 0x7f (as latin-1, the way WSGI carries them).
VISIBLE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
FIELD = st.characters(
    codec="latin-1", exclude_categories=("Cc",), include_characters="\t"
)
PIECE = st.text(VISIBLE, max_size=30)
HOST_PIECES = st.sampled_from(
    ["localhost", "127.0.0.1", "[::1]", "[", "]", ":", ".", "@", "xn--", "[::1", "%"]
)
hosts = st.lists(st.one_of(HOST_PIECES, st.text(FIELD, max_size=12)), max_size=5).map(
    "".join
)
ports = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=10**6).map(lambda n: f":{n}"),
    st.integers(min_value=0, max_value=5000).map(lambda n: ":" + "9" * n),
    st.text(FIELD, max_size=8).map(lambda p: f":{p}"),
)
targets = st.one_of(
    PIECE.map(lambda p: "/" + p),
    PIECE.map(lambda p: "/up" + p),  # the health path, answered before Host validation
    st.just("/up"),
    PIECE.map(lambda p: "//" + p),
    st.tuples(
        st.sampled_from(["http", "https", "HTTP", "ftp"]), hosts, ports, PIECE
    ).map(lambda t: f"{t[0]}://{t[1]}{t[2]}/{t[3]}"),
    PIECE,
    st.just("*"),
)
TRIED = Counter()


def environ(method, target, host, protocol, body, forwarded_proto):
    """The WSGI environ gunicorn builds for this request."""
    absolute = target.split("://", 1)[1] if "://" in target else None
    path = "/" + absolute.partition("/")[2] if absolute is not None else target
    path, _, query = path.partition("?")
    env = {
        "REQUEST_METHOD": method,
        "RAW_URI": target,
        "PATH_INFO": unquote(path.partition("#")[0], encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": protocol,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if host is not None:
        env["HTTP_HOST"] = host
    if forwarded_proto:
        env["HTTP_X_FORWARDED_PROTO"] = forwarded_proto
    return env


@settings(
    max_examples=int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "FOO"]),
    target=targets,
    host=st.one_of(st.none(), st.tuples(hosts, ports).map("".join)),
    protocol=st.sampled_from(["HTTP/1.1", "HTTP/1.0"]),
    body=st.sampled_from([b"", b"a=1", b"x" * 3 * 1024 * 1024]),
    forwarded_proto=st.sampled_from([None, "http", "https", "https, http"]),
)
def test_no_request_is_answered_with_a_server_error(
    method, target, host, protocol, body, forwarded_proto
):
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(int(status[:3]))

    request = environ(method, target, host, protocol, body, forwarded_proto)
    response = hello.application(request, start_response)
    b"".join(response)
    response.close()
    TRIED[statuses[0]] += 1
    assert statuses[0] < 500, (request, statuses)


if __name__ == "__main__":
    test_no_request_is_answered_with_a_server_error()
    print(f"tried {sum(TRIED.values())} requests:", dict(sorted(TRIED.items())))
