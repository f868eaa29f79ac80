"""MAST download path against a stand-in HTTP server on 127.0.0.1 (with Range support)."""

from __future__ import annotations

import threading
import typing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from astropy.table import Table

from exolrs.errors import ExolrsError
from exolrs.fetch import Download, download_files, plan_downloads

FILES = {
    "jw02783001001_04103_00001-seg001_mirimage_uncal.fits": bytes(range(256)) * 5000,
    "jw02783001001_04103_00001-seg002_mirimage_uncal.fits": b"\x01\x02" * 300_000,
}


class Handler(BaseHTTPRequestHandler):
    ranges_seen: typing.ClassVar[list] = []

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        body = FILES.get(name)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if "Range" in self.headers:
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            Handler.ranges_seen.append(start)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/files/"
    httpd.shutdown()


def items(base):
    return [Download(n, base + n, len(b)) for n, b in FILES.items()]


def test_plan_from_a_mast_product_table():
    t = Table(
        {
            "productFilename": ["b_uncal.fits", "a_uncal.fits", "a_uncal.fits", "x_rate.fits"],
            "dataURI": ["mast:JWST/product/b", "mast:JWST/product/a", "mast:JWST/product/a", "x"],
            "size": [10, 20, 20, 5],
        }
    )
    plan = plan_downloads(t, base_url="http://h/?uri=")
    assert [p.name for p in plan] == ["a_uncal.fits", "b_uncal.fits"]
    assert plan[0].url == "http://h/?uri=mast:JWST/product/a" and plan[0].size == 20
    with pytest.raises(ExolrsError, match=r"no \*_uncal\.fits"):
        plan_downloads(t[3:])


def test_download_and_resume(server, tmp_path):
    name, body = next(iter(FILES.items()))
    (tmp_path / f"{name}.part").write_bytes(body[:123_456])  # an interrupted download
    got = []
    paths = download_files(items(server), tmp_path, got.append)
    for p in paths:
        assert p.read_bytes() == FILES[p.name]
    assert 123_456 in Handler.ranges_seen  # resumed, not restarted
    assert sum(got) == sum(len(b) for b in FILES.values())
    assert not list(tmp_path.glob("*.part"))
    again = download_files(items(server), tmp_path)  # already complete: nothing fetched
    assert again == paths


def test_size_mismatch_and_unreachable(server, tmp_path):
    name = next(iter(FILES))
    with pytest.raises(ExolrsError, match=r"received .* of 999999999 bytes"):
        download_files([Download(name, server + name, 999_999_999)], tmp_path)
    assert not (tmp_path / name).exists()  # never renamed to look complete
    with pytest.raises(ExolrsError, match=r"download of x_uncal\.fits failed"):
        download_files([Download("x_uncal.fits", "http://127.0.0.1:9/x", 10)], tmp_path)
    with pytest.raises(ExolrsError, match="only http"):
        download_files([Download("y_uncal.fits", "file:///etc/passwd", 10)], tmp_path)
