"""Downloads from a local HTTP server serving the real data files."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from cnnkit.data.download import download, sha256_of
from cnnkit.errors import DataError

# From ../shared/data/README.md
README_SHA256 = {
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", sorted(README_SHA256))
def test_verified_download(shared_data, serve, tmp_path, name):
    url = serve(shared_data / "fashion-mnist") + name
    dest = tmp_path / "new" / name
    assert download(url, dest, README_SHA256[name], progress=False) == dest
    assert dest.read_bytes() == (shared_data / "fashion-mnist" / name).read_bytes()
    assert sha256_of(dest) == README_SHA256[name]
    assert leftovers(dest.parent) == [name]


def test_any_accepted_hash(shared_data, serve, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    url = serve(shared_data / "fashion-mnist") + name
    dest = download(url, tmp_path / name, ["0" * 64, README_SHA256[name].upper()],
                    progress=False)
    assert dest.is_file()


def test_tampered_file_is_refused(shared_data, serve, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    served = tmp_path / "served"
    served.mkdir()
    data = bytearray((shared_data / "fashion-mnist" / name).read_bytes())
    data[100] ^= 0xFF
    (served / name).write_bytes(bytes(data))
    url = serve(served) + name
    dest = tmp_path / "out" / name
    dest.parent.mkdir()
    dest.write_bytes(b"previous good copy")
    with pytest.raises(DataError) as info:
        download(url, dest, README_SHA256[name], progress=False)
    message = str(info.value)
    assert url in message and "SHA-256 mismatch" in message
    assert README_SHA256[name] in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    assert f"place it at {dest}" in message
    assert dest.read_bytes() == b"previous good copy"  # never replaced by a bad download
    assert leftovers(dest.parent) == [name]  # and no partial file


def test_missing_file_on_server(shared_data, serve, tmp_path):
    url = serve(shared_data) + "no-such-file.gz"
    with pytest.raises(DataError, match="HTTP 404") as info:
        download(url, tmp_path / "x.gz", None, progress=False)
    assert url in str(info.value) and str(tmp_path / "x.gz") in info.value.hint
    assert leftovers(tmp_path) == []


def test_unreachable_server(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/train-images-idx3-ubyte.gz"
    with pytest.raises(DataError, match="could not download") as info:
        download(url, tmp_path / "f.gz", "0" * 64, progress=False, timeout=5)
    assert url in str(info.value) and "network" in info.value.hint
    assert leftovers(tmp_path) == []


class _ShortHandler(http.server.BaseHTTPRequestHandler):
    """Announces 1,000 bytes, sends 100, then hangs up."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 100)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format, *args):
        pass


def test_interrupted_transfer(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _ShortHandler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/file.gz"
    try:
        with pytest.raises(DataError, match=url):
            download(url, tmp_path / "file.gz", None, progress=False, timeout=5)
    finally:
        server.server_close()
    assert leftovers(tmp_path) == []



def test_hash_prefix_is_checked(shared_data, serve, tmp_path):
    """torchvision's weight files carry only the first hex digits of their SHA-256."""
    name = "t10k-labels-idx1-ubyte.gz"
    url = serve(shared_data / "fashion-mnist") + name
    assert download(url, tmp_path / name, README_SHA256[name][:8], progress=False).is_file()
    wrong = ("0" if README_SHA256[name][0] != "0" else "1") + README_SHA256[name][1:8]
    with pytest.raises(DataError, match=r"expected .* \(a prefix\)"):
        download(url, tmp_path / "other" / name, wrong, progress=False)
    assert leftovers(tmp_path / "other") == []
    with pytest.raises(ValueError):
        download(url, tmp_path / name, "", progress=False)
