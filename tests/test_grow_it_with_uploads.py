"""Grow it with uploads: docs/uploads.md on what it needs, as its users run it. An
upload under runserver lands in media/, under the Procfile in MEDIA_ROOT, where a
redeploy finds it again; in a bucket of moto's S3 server, a real S3 API over HTTP on
loopback that boto3 speaks to as it speaks to Amazon's; refused on a platform's
throwaway disk; always served as a download."""

import shutil
import sys

import pytest
from support.extend import grown_copy, with_what_it_needs
from support.net import free_port
from support.project import BIN, PRODUCTION, environment, run_hello
from support.servers import Server, gunicorn_procfile_options

requests = pytest.importorskip("requests")
boto3 = pytest.importorskip("boto3")

PAGE = b"<!DOCTYPE html><script>document.title = 'ran'</script>"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """What a build makes of the repository: a copy grown by the uploads recipe."""
    return grown_copy(
        tmp_path_factory.mktemp("image"), recipes=with_what_it_needs("Uploads")
    )


def upload(url, name, content):
    """The upload form, filled in and sent as a browser sends it: the POST's status."""
    with requests.Session() as session:
        session.trust_env = False
        page = session.get(f"{url}/uploads/", timeout=30)
        assert page.status_code == 200, page.text
        token = session.cookies["csrftoken"]
        sent = session.post(
            f"{url}/uploads/",
            data={"csrfmiddlewaretoken": token},
            files={"upload": (name, content)},
            allow_redirects=False,
            timeout=30,
        )
        return sent.status_code


def get(url, path):
    with requests.Session() as session:
        session.trust_env = False
        return session.get(f"{url}{path}", timeout=30)


def test_under_runserver_an_upload_lands_in_media_and_comes_back_as_a_download(
    image, tmp_path
):
    project = shutil.copytree(image, tmp_path / "laptop")
    port = free_port()
    argv = [sys.executable, "hello.py", "runserver", str(port), "--noreload"]
    server = Server(argv, environment(), cwd=project)
    try:
        server.wait_until_serving(port, path="/uploads/")
        url = f"http://127.0.0.1:{port}"
        assert upload(url, "page.html", PAGE) == 302
        assert (project / "media" / "page.html").read_bytes() == PAGE
        listed = get(url, "/uploads/").text
        assert 'href="/media/page.html"' in listed
        served = get(url, "/media/page.html")
    finally:
        server.stop()
    assert served.status_code == 200 and served.content == PAGE
    # An uploaded page is a download, never a page of the site's that runs script.
    assert served.headers["content-disposition"].startswith("attachment;")
    assert "default-src 'none'" in served.headers["content-security-policy"]


def test_under_the_procfile_uploads_stay_in_media_root_across_a_redeploy(
    image, tmp_path
):
    volume = tmp_path / "volume"
    config = {"MEDIA_ROOT": str(volume), "ALLOWED_HOSTS": "127.0.0.1"}
    for release, name in (("first", "one.txt"), ("second", "two.txt")):
        # Each deploy is a fresh container from the image; the volume stays.
        container = shutil.copytree(image, tmp_path / release)
        port = free_port()
        with gunicorn_procfile_options(port, cwd=container, **config):
            url = f"http://127.0.0.1:{port}"
            assert upload(url, name, name.encode()) == 302
            listed = get(url, "/uploads/").text
            first = get(url, "/media/one.txt")
        assert not (container / "media").exists()
    assert 'href="/media/one.txt"' in listed and 'href="/media/two.txt"' in listed
    assert (first.status_code, first.content) == (200, b"one.txt")
    assert sorted(path.name for path in volume.iterdir()) == ["one.txt", "two.txt"]


def test_a_name_climbing_out_of_media_root_gets_a_400(image):
    port = free_port()
    with gunicorn_procfile_options(port, cwd=image, ALLOWED_HOSTS="127.0.0.1"):
        climbing = get(f"http://127.0.0.1:{port}", "/media/..%2F..%2Fhello.py")
    assert climbing.status_code == 400


def test_a_body_over_the_cap_is_refused_413(image):
    port = free_port()
    with gunicorn_procfile_options(port, cwd=image, ALLOWED_HOSTS="127.0.0.1"):
        status = upload(f"http://127.0.0.1:{port}", "big.bin", b"x" * (6 << 20))
    assert status == 413
    assert not (image / "media").exists()


RENDER = {"RENDER": "true", "RENDER_EXTERNAL_HOSTNAME": "hello-x1.onrender.com"}


def test_on_a_platforms_throwaway_disk_start_up_is_refused_until_uploads_have_a_home(
    image,
):
    done = run_hello("check", cwd=image, **PRODUCTION, **RENDER)
    refusal = (
        "hello.py: MEDIA_ROOT=<unset> is refused; on a platform, name a folder on a "
        "volume it mounts (MEDIA_ROOT=/data/media), or a bucket: "
        "AWS_STORAGE_BUCKET_NAME\n"
    )
    assert (done.returncode, done.stderr) == (4, refusal)
    for home in ({"MEDIA_ROOT": "/data/media"}, {"AWS_STORAGE_BUCKET_NAME": "b"}):
        done = run_hello("check", cwd=image, **PRODUCTION, **RENDER, **home)
        assert done.returncode == 0, done.stderr


@pytest.fixture
def s3():
    """moto's S3 server on loopback, with a bucket: the variables that name it."""
    port = free_port()
    argv = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    server = Server(argv, environment())
    config = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_STORAGE_BUCKET_NAME": "uploads",
    }
    try:
        server.wait_until_serving(port, path="/")
        client = boto3.client(
            "s3",
            endpoint_url=config["AWS_S3_ENDPOINT_URL"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="uploads")
        yield client, config
    finally:
        server.stop()


def test_with_a_bucket_an_upload_is_stored_there_and_linked_from_its_origin(
    image, s3, tmp_path
):
    client, config = s3
    container = shutil.copytree(image, tmp_path / "web")
    port = free_port()
    served = {**config, "ALLOWED_HOSTS": "127.0.0.1"}
    with gunicorn_procfile_options(port, cwd=container, **served):
        url = f"http://127.0.0.1:{port}"
        assert upload(url, "report.txt", b"in the bucket") == 302
        listed = get(url, "/uploads/").text
    stored = client.get_object(Bucket="uploads", Key="report.txt")["Body"].read()
    assert stored == b"in the bucket"
    assert f'href="{config["AWS_S3_ENDPOINT_URL"]}/uploads/report.txt' in listed
    assert not (container / "media").exists()
