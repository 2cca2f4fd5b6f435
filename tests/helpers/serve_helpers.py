"""A real ``cnnkit serve`` process on 127.0.0.1 for the server and page tests, the model it
serves (the tutorial MNIST CNN trained briefly on real digits, tests/mnist_model.py) and
HTTP calls to it. The ``digits_server`` fixture is started once per session and shared by
tests/serve/test_serve.py and tests/serve/test_serve_page.py (import it into the module)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
STARTUP_LINES = 20
TIMEOUT_SECONDS = 3  # the served model answers in milliseconds; a stalled upload waits this


def require_serve_packages() -> None:
    """Skip the test, saying why, without the ``serve`` extra."""
    for name in ("fastapi", "uvicorn", "multipart"):
        pytest.importorskip(name, reason=f"{name} is not installed: pip install "
                                         "'cnnkit[serve]' to test the server")


@dataclass
class Server:
    """A running server: its address, process and the file its stderr goes to."""

    host: str
    port: int
    process: subprocess.Popen
    log: Path

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        """One request on a new connection: status, headers, body."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def post_files(self, path: str, files: list[tuple[str, bytes]]) -> tuple[int, dict]:
        """POST ``files`` as multipart ``file`` fields; the status and the JSON answer."""
        body, kind = multipart(files)
        status, headers, data = self.request("POST", path, body, {"Content-Type": kind})
        assert headers.get("content-type", "").startswith("application/json"), data[:200]
        return status, json.loads(data)

    def get_json(self, path: str) -> dict:
        """GET ``path`` and parse the JSON answer (must be 200)."""
        status, _, data = self.request("GET", path)
        assert status == 200, data
        return json.loads(data)


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body with one ``file`` field per file, and its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


@contextlib.contextmanager
def running_server(model_path: Path, log: Path, *options: str) -> Iterator[Server]:
    """``cnnkit serve MODEL --port 0 OPTIONS`` until the block ends; waits for the line
    that says it is serving (printed after the warm-up)."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with open(log, "wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "cnnkit", "serve", str(model_path),
                                    "--port", "0", "--no-compile", *options],
                                   stdout=subprocess.PIPE, stderr=err, env=env, text=True)
    try:
        lines = []
        for _ in range(STARTUP_LINES):
            line = process.stdout.readline()
            lines.append(line)
            found = re.search(r"serving on http://([\d.]+):(\d+)/", line)
            if found:
                yield Server(found.group(1), int(found.group(2)), process, log)
                return
            if not line:
                break
        raise AssertionError(f"the server did not start: {''.join(lines)}"
                             f"{log.read_text()[-3000:]}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def digits_server(tmp_path_factory) -> Iterator[Server]:
    """``cnnkit serve`` of the trained MNIST tutorial CNN, with a 3 s request timeout."""
    from mnist_model import trained_mnist

    require_serve_packages()
    folder = tmp_path_factory.mktemp("serve")
    trained_mnist().save(folder / "digits.keras")
    with running_server(folder / "digits.keras", folder / "stderr.log",
                        "--timeout", str(TIMEOUT_SECONDS)) as running:
        yield running
