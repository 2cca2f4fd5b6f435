"""``cnnkit serve`` on 127.0.0.1: its answers equal ``model.predict`` on real images; every
broken file of the data tests' corpus, a 100 MB body and a stalled upload get a 4xx JSON
error naming the problem, and the server answers normally afterwards; the batcher joins
concurrent requests; 0.0.0.0 gets a warning."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from cnnkit.data.decode import decode
from mnist_model import trained_mnist
from sample_images import TEXT_AS_IMAGE, bomb_png, cifar_jpegs, corrupt_png, mnist_pngs, truncated
from serve_helpers import require_serve_packages

require_serve_packages()


@pytest.fixture(scope="module")
def model():
    return trained_mnist()


@pytest.fixture
def server(digits_server):
    """The session's server (tests/serve_helpers.py, registered in conftest.py)."""
    return digits_server


def expected(model, files: list[bytes]) -> np.ndarray:
    return model.predict(np.stack([decode(f, 28, 28, 1) for f in files]), verbose=0)


def probabilities(answer: dict) -> np.ndarray:
    """The rows of an answer with ``top_k=all``, in class order."""
    rows = []
    for item in answer["predictions"]:
        by_class = {entry["class"]: entry["probability"] for entry in item["top"]}
        rows.append([by_class[str(digit)] for digit in range(10)])
    return np.array(rows)


def test_answers_equal_model_predict_on_real_digits(server, model):
    files = mnist_pngs(40)
    status, answer = server.post_files("/predict?top_k=all", [
        (f"{i}.png", data) for i, data in enumerate(files[:8])])
    assert status == 200
    assert [p["file"] for p in answer["predictions"]] == [f"{i}.png" for i in range(8)]
    np.testing.assert_allclose(probabilities(answer), expected(model, files[:8]), atol=1e-6)
    # concurrent one-image requests, batched by the server: each gets its own answer
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda f: server.post_files("/predict?top_k=all",
                                                            [("d.png", f)]), files))
    assert {status for status, _ in answers} == {200}
    got = np.concatenate([probabilities(a) for _, a in answers])
    np.testing.assert_allclose(got, expected(model, files), atol=1e-6)
    status, answer = server.post_files("/predict?top_k=2", [("d.png", files[0])])
    top = answer["predictions"][0]["top"]
    assert len(top) == 2 and top[0]["class"] == str(int(expected(model, files[:1]).argmax()))


def test_the_raw_body_is_one_image(server, model):
    png = mnist_pngs(1)[0]
    status, _, data = server.request("POST", "/predict?top_k=all", png,
                                     {"Content-Type": "image/png"})
    assert status == 200
    np.testing.assert_allclose(probabilities(json.loads(data)), expected(model, [png]),
                               atol=1e-6)


BROKEN = {  # the broken image files of tests/bad_tree.py, and the code each must get
    "corrupt.png": (lambda: corrupt_png(mnist_pngs(1)[0]), 400, "corrupt"),
    "cut.png": (lambda: truncated(mnist_pngs(1)[0]), 400, "corrupt"),
    "cut.jpg": (lambda: truncated(cifar_jpegs(1)[0]), 400, "corrupt"),
    "bomb.png": (bomb_png, 413, "too_large"),  # 10 gigapixels: Pillow's own guard
    "48mp.png": (lambda: bomb_png(8000, 6000), 413, "too_many_pixels"),  # over --max-pixels
    "empty.png": (lambda: b"", 400, "empty_file"),
    "notes.png": (lambda: TEXT_AS_IMAGE, 415, "not_an_image"),
    "._stray.png": (lambda: b"\0\5\26\7 resource fork", 415, "not_an_image"),
    "Thumbs.db": (lambda: b"\xd0\xcf\x11\xe0", 415, "not_an_image"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_file_gets_a_4xx_json_error_naming_it(server, name):
    make, status, code = BROKEN[name]
    got, answer = server.post_files("/predict", [("good.png", mnist_pngs(1)[0]),
                                                 (name, make())])
    assert (got, answer["error"], answer["file"]) == (status, code, name)
    assert name in answer["message"]
    assert server.get_json("/health")["status"] == "ok"


def send_refused(server, head: bytes, body_chunks) -> tuple[int, bytes]:
    """Send a request whose body the server will refuse (it reads and drops the rest: a
    lingering close), stop if it ends the connection, then read its answer: the status and
    the body."""
    with socket.create_connection((server.host, server.port), timeout=60) as sock:
        try:
            sock.sendall(head)
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the answer is waiting
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


HUNDRED_MB = 100 * 1024 * 1024
MB_OF_ZEROS = b"\0" * (1024 * 1024)


@pytest.mark.parametrize("kind", ["image/png", "multipart/form-data; boundary=x", "chunked"])
def test_a_100_mb_body_is_refused_with_413_and_the_server_goes_on(server, kind):
    if kind == "chunked":  # no Content-Length: refused once 20 MB have arrived
        head = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        chunks = (b"100000\r\n" + MB_OF_ZEROS + b"\r\n" for _ in range(100))
    else:
        head = (f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {HUNDRED_MB}\r\n\r\n").encode()
        chunks = (MB_OF_ZEROS for _ in range(100))
    status, body = send_refused(server, head, chunks)
    assert status == 413
    assert json.loads(body)["error"] == "upload_too_large"
    assert server.post_files("/predict", [("d.png", mnist_pngs(1)[0])])[0] == 200


def test_a_refused_body_still_arriving_is_read_and_dropped_before_the_server_closes(server):
    """Closing at once with unread bytes makes the kernel send a reset, which can destroy
    the answer before the client reads it (serve/linger.py)."""
    head = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: %d\r\n\r\n" % HUNDRED_MB)
    for more in (8, 0):  # 8 MB sent after the answer, then our close; or silence
        with socket.create_connection((server.host, server.port), timeout=60) as sock:
            sock.sendall(head + MB_OF_ZEROS)
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert (response.status, response.getheader("connection")) == (413, "close")
            assert json.loads(response.read())["error"] == "upload_too_large"
            for _ in range(more):  # a closed socket would answer these with a reset
                sock.sendall(MB_OF_ZEROS)
            if more:
                sock.shutdown(socket.SHUT_WR)
            assert sock.recv(1) == b""  # a FIN: the server closed once we did, or fell silent


def test_a_stalled_upload_times_out_with_408(server):
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 5000\r\n\r\n" + mnist_pngs(1)[0][:100])
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 408
        assert json.loads(response.read())["error"] == "upload_timeout"
    assert server.get_json("/health")["status"] == "ok"


def test_other_mistakes_are_4xx_json_too(server):
    assert server.post_files("/predict?top_k=0", [("d.png", mnist_pngs(1)[0])]) == (
        400, {"error": "bad_top_k", "message": "top_k='0': give a whole number from 1, or all"})
    status, answer = server.post_files("/predict", [])
    assert (status, answer["error"]) == (400, "no_image")
    status, answer = server.post_files("/explain", [("a.png", mnist_pngs(1)[0])] * 2)
    assert (status, answer["error"]) == (400, "too_many_files")
    status, _, data = server.request("GET", "/nowhere")
    assert (status, json.loads(data)["error"]) == (404, "not_found")
    status, _, data = server.request("GET", "/predict")
    assert (status, json.loads(data)["error"]) == (405, "method_not_allowed")


def test_model_health_page_and_access_log(server, model):
    info = server.get_json("/model")
    assert info["classes"] == [str(d) for d in range(10)]
    assert info["input"]["height"] == 28 and info["input"]["channels"] == 1
    assert info["parameters"] == model.count_params() == 225_034
    status, headers, page = server.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"http://" not in page and b"https://" not in page and b'src="//' not in page
    status, answer = server.post_files("/explain", [("d.png", mnist_pngs(1)[0])])
    assert status == 200 and answer["gradcam"].startswith("data:image/png;base64,")
    time.sleep(0.2)  # the access log line is written after the answer
    lines = [json.loads(line) for line in server.log.read_text().splitlines()
             if line.startswith("{")]
    explained = [line for line in lines if line["path"] == "/explain"][-1]
    assert explained["status"] == 200 and explained["images"] == 1
    assert {"time", "client", "method", "ms", "bytes_in", "bytes_out"} <= set(explained)


def test_the_batcher_joins_waiting_requests_up_to_the_maximum():
    from cnnkit.serve.batcher import Batcher

    sizes = []

    def predict(images):
        sizes.append(len(images))
        return images.reshape(len(images), -1)[:, :1] * 2

    async def run():
        batcher = Batcher(predict, ThreadPoolExecutor(1), max_batch=4, wait_seconds=0.05)
        batcher.start()
        requests = [np.full((n, 1, 1, 1), i, np.uint8) for i, n in enumerate([1, 2, 1, 3, 1])]
        answers = await asyncio.gather(*(batcher.submit(r) for r in requests))
        await batcher.stop()
        return requests, answers

    requests, answers = asyncio.run(run())
    assert sizes == [4, 4]  # 1+2+1, then the 3 (too big to join) leads with the last 1
    for request, answer in zip(requests, answers, strict=True):
        assert answer.shape == (len(request), 1) and (answer == 2 * request[0, 0, 0, 0]).all()


def test_an_open_host_gets_a_warning(model, tmp_path, monkeypatch, capsys):
    import uvicorn

    from cnnkit.serve.server import ServeOptions, serve

    model.save(tmp_path / "m.keras")
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: None)
    serve(str(tmp_path / "m.keras"), ServeOptions(host="0.0.0.0", port=0, compile=False,
                                                  access_log=False))
    captured = capsys.readouterr()
    assert "warning: --host 0.0.0.0 accepts connections from every machine" in captured.err
    assert "serving on http://0.0.0.0:" in captured.out
    serve(str(tmp_path / "m.keras"), ServeOptions(port=0, compile=False, access_log=False))
    assert "warning" not in capsys.readouterr().err
