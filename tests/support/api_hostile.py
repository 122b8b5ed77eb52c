"""What Hypothesis sends the grown copy's API (test_grow_it_an_api.py): JSON bodies no
one listed (deeply nested, large, wrongly typed, invalid UTF-8, duplicate keys), filters
with odd values and page numbers out of range."""

import json

from hypothesis import strategies as st

# What the serializers and filters name, and what they do not.
FIELDS = ["name", "description", "end", "sprint", "status", "order", "assigned"]
FIELDS += ["started", "due", "completed", "url", "id", "tasks", "", "__proto__"]
FILTERS = ["sprint", "status", "assigned", "backlog", "end_min", "end_max"]
FILTERS += ["search", "ordering", "page", "page_size", "format", "limit"]
PATHS = ["/api/sprints/", "/api/tasks/", "/api/sprints/1/", "/api/tasks/1/"]
PATHS += ["/api/token/", "/api/", "/api/tasks/0/", "/api/tasks/99999999999999999999/"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["2031-01-09", "2001-01-01", "0000-00-00", "9999-12-31", "1", ""]),
    st.sampled_from(["https://localhost/api/sprints/1/", "/api/sprints/1/", "admin"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
objects = st.dictionaries(st.sampled_from(FIELDS), values, max_size=8)
# What a client means to send, now and then valid.
meant = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=100)},
    optional={
        "end": st.dates().map(str),
        "status": st.integers(min_value=0, max_value=5),
        "description": st.text(),
    },
)


DEPTHS = st.one_of(st.sampled_from([999, 1000, 5000, 100_000]), st.integers(1, 3000))


def raw(text):
    return text.encode("utf-8", "surrogatepass")


bodies = st.one_of(
    meant.map(lambda o: raw(json.dumps(o))),
    objects.map(lambda o: raw(json.dumps(o, allow_nan=True))),
    values.map(lambda v: raw(json.dumps(v, allow_nan=True))),
    # Deeper than Python's JSON parser goes (about a thousand), and shallower.
    DEPTHS.map(lambda n: b"[" * n + b"]" * n),
    DEPTHS.map(lambda n: b'{"name":' * n),
    st.binary(max_size=64),
    st.builds(
        lambda key, a, b: raw(
            f'{{"{key}": {json.dumps(a)}, "{key}": {json.dumps(b)}}}'
        ),
        st.sampled_from(FIELDS),
        values,
        values,
    ),
    # Under the 5 MiB cap: a name far past its 100 characters.
    st.integers(min_value=0, max_value=1024 * 1024).map(
        lambda n: b'{"name": "' + b"x" * n + b'"}'
    ),
)
queries = st.lists(
    st.tuples(
        st.sampled_from(FILTERS), st.one_of(st.text(max_size=30), scalars.map(str))
    ),
    max_size=5,
)
anything = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        "path": st.sampled_from(PATHS),
        "query": queries,
        "body": bodies,
        "content_type": st.sampled_from(
            [
                "application/json",
                "application/json; charset=latin-1",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
            ]
        ),
    }
)
# Now and then what a client means: a task or a sprint written as JSON.
meant_requests = st.fixed_dictionaries(
    {
        "method": st.just("POST"),
        "path": st.sampled_from(["/api/tasks/", "/api/sprints/"]),
        "query": st.just([]),
        "body": meant.map(lambda o: raw(json.dumps(o))),
        "content_type": st.just("application/json"),
    }
)
requests = st.one_of(anything, meant_requests)
