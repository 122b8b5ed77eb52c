"""Extend it: a copy of hello.py grown the way its users grow it (a database, views that
wait on I/O), served as the Procfile serves it. Its production configuration must hold
for that project, not only for the hello page.
"""

import concurrent.futures
import socket

from support.extend import DATABASE, VIEW_THAT_WAITS, extended_copy
from support.net import free_port, request
from support.servers import gunicorn_procfile_options


def test_a_view_using_a_database_answers_every_concurrent_request_under_the_procfile(
    tmp_path,
):
    project = extended_copy(tmp_path, settings=DATABASE, code=VIEW_THAT_WAITS)
    port = free_port()
    with gunicorn_procfile_options(port, workers=3, cwd=project) as server:

        def visit(_):
            return request(port, "/visits", host="localhost", timeout=20)[::2]

        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(visit, range(120)))
        log = server.output()
    assert answers == [(200, "2 queries")] * 120, {a: answers.count(a) for a in answers}
    assert "Traceback" not in log and " ERROR " not in log, log


UPLOAD = """
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def upload(request):
    return HttpResponse(f"{request.FILES['file'].size} bytes")


urlpatterns += [path("upload", upload)]
"""


def test_a_view_taking_uploads_receives_a_3_mib_file_under_the_procfile(tmp_path):
    # Larger than DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB), which does not count files.
    size = 3 * 1024 * 1024
    body = (
        b"--b\r\nContent-Disposition: form-data; name=file; filename=big.bin\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n"
        + b"x" * size
        + b"\r\n--b--\r\n"
    )
    form = {"Content-Type": "multipart/form-data; boundary=b"}
    port = free_port()
    with gunicorn_procfile_options(port, cwd=extended_copy(tmp_path, code=UPLOAD)):
        answer = request(
            port, "/upload", "POST", host="localhost", headers=form, body=body
        )
    assert answer[::2] == (200, f"{size} bytes")


def upload_form(size):
    return (
        b"--b\r\nContent-Disposition: form-data; name=file; filename=big.bin\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n"
        + b"x" * size
        + b"\r\n--b--\r\n"
    )


def status_from_the_headers_alone(port, length):
    """The status answered to an upload's headers, announcing `length` bytes, before
    any of its body is sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /upload HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Length: %d\r\n\r\n" % length
        )
        return int(conn.recv(65536).split()[1])


def test_a_site_that_raises_the_body_limit_takes_larger_uploads(tmp_path):
    project = extended_copy(
        tmp_path, settings="REQUEST_BODY_MAX_SIZE = 20 * 1024 * 1024", code=UPLOAD
    )
    form = {"Content-Type": "multipart/form-data; boundary=b"}
    size, port = 10 * 1024 * 1024, free_port()
    with gunicorn_procfile_options(port, cwd=project):
        sent = upload_form(size)
        assert request(
            port, "/upload", "POST", host="localhost", headers=form, body=sent
        )[::2] == (200, f"{size} bytes")
        # Past the raised limit: refused from the headers alone.
        assert status_from_the_headers_alone(port, 21 * 1024 * 1024) == 413


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(tmp_path):
    limit = 5 * 1024 * 1024
    form = {"Content-Type": "multipart/form-data; boundary=b"}
    overhead = len(upload_form(0))
    port = free_port()
    with gunicorn_procfile_options(port, cwd=extended_copy(tmp_path, code=UPLOAD)):
        at_limit = upload_form(limit - overhead)
        assert len(at_limit) == limit
        assert request(
            port, "/upload", "POST", host="localhost", headers=form, body=at_limit
        )[::2] == (200, f"{limit - overhead} bytes")
        # One byte more: refused from the headers alone, before the body is sent.
        assert status_from_the_headers_alone(port, limit + 1) == 413


SLOW_VIEW = """
import time


def slow(request):
    time.sleep(float(request.GET["seconds"]))
    return HttpResponse("done")


urlpatterns += [path("slow", slow)]
"""


def test_the_procfiles_timeout_does_not_cut_a_slow_request_short(tmp_path):
    # Under gthread, --timeout is the worker's heartbeat to the master, which a thread
    # busy with a slow view does not stop: the request runs to its end. So the README
    # states no time limit for a request. Here --timeout is 2 s, the view takes 5.
    port = free_port()
    project = extended_copy(tmp_path, code=SLOW_VIEW)
    with gunicorn_procfile_options(port, "--timeout", "2", cwd=project) as server:
        answer = request(port, "/slow?seconds=5", host="localhost", timeout=30)
        output = server.output()
    assert answer[::2] == (200, "done")
    assert "WORKER TIMEOUT" not in output and output.count("Booting worker") == 1, (
        output
    )
