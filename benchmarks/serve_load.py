"""Load test of ``cnnkit serve`` on 127.0.0.1: requests per second and latency, with and
without request batching.

A server process serves the CIFAR-10 tutorial CNN (``--model``/``--size`` choose another
zoo network and input size; initialised weights: the speed does not depend on them); 32
client connections (keep-alive, asyncio, raw HTTP/1.1) post real CIFAR-10 test JPEGs, one
per request, as multipart uploads, 10,000 requests in all after 200 unmeasured warm-up
requests. Every answer must be a 200 with one prediction: any other counts as an error. The
same load runs against a server with batching (``--max-batch 32``, 2 ms window) and one
without (``--max-batch 1``: each request predicted alone), in turns. Client and server
share the machine's cores, as on a small server with its proxy.

    python benchmarks/serve_load.py [--requests 10000] [--connections 32] [--rounds 1]
    python benchmarks/serve_load.py --model small-cnn --size 96   # a model 20x costlier

Prints one JSON line per run, then a table; docs/serving.md has the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
WARM_UP_REQUESTS = 200
MODES = {"batching": ["--max-batch", "32", "--wait-ms", "2"],
         "one at a time": ["--max-batch", "1"]}


def real_jpegs(data: Path, count: int) -> list[bytes]:
    """The first ``count`` CIFAR-10 test JPEGs of the shared archive."""
    found = []
    with tarfile.open(data / "cifar10-jpg.tar.gz", "r|gz") as tar:
        for info in tar:
            if info.isfile() and info.name.startswith("test/"):
                found.append(tar.extractfile(info).read())
                if len(found) == count:
                    break
    return found


def request_bytes(image: bytes, port: int) -> bytes:
    """One keep-alive multipart POST /predict?top_k=1 of ``image``."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n').encode() + image + \
        f"\r\n--{boundary}--\r\n".encode()
    head = (f"POST /predict?top_k=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


async def client(port: int, requests: list[bytes], next_index, latencies: list[float],
                 errors: list[str]) -> None:
    """One connection sending requests until the shared counter runs out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (index := next_index()) is not None:
            started = time.perf_counter()
            writer.write(requests[index % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or \
                    len(json.loads(body).get("predictions", [])) != 1:
                errors.append(head.split(b"\r\n")[0].decode() + " " + body[:200].decode())
    finally:
        writer.close()


async def load(port: int, requests: list[bytes], total: int, connections: int) -> dict:
    """Send ``total`` requests over ``connections`` connections; rate, latency, errors."""
    counter = iter(range(total))

    def next_index():
        return next(counter, None)

    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    outcome = await asyncio.gather(*(client(port, requests, next_index, latencies, errors)
                                     for _ in range(connections)), return_exceptions=True)
    seconds = time.perf_counter() - started
    errors += [repr(e) for e in outcome if isinstance(e, BaseException)]
    latencies.sort()
    return {"requests": len(latencies), "errors": len(errors), "first_error": errors[:1],
            "seconds": round(seconds, 2),
            "requests_per_second": round(len(latencies) / seconds, 1),
            "p50_ms": round(1e3 * statistics.median(latencies), 2),
            "p99_ms": round(1e3 * latencies[int(0.99 * (len(latencies) - 1))], 2)}


def start_server(model: Path, options: list[str], log) -> tuple[subprocess.Popen, int, str]:
    """``cnnkit serve`` on a free port; the process, its port and its start-up lines."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}"
                                       f"{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.Popen([sys.executable, "-m", "cnnkit", "serve", str(model), "--port",
                                "0", *options], stdout=subprocess.PIPE, stderr=log, text=True,
                               env=env)
    warm_up = []
    for line in process.stdout:
        if line.startswith(("loaded", "warm-up:")):
            warm_up.append(line.strip().split("; warming up")[0])
        found = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
        if found:
            return process, int(found.group(1)), "; ".join(warm_up)
    raise SystemExit(f"the server did not start (exit code {process.wait()})")


def run(model: Path, mode: str, images: list[bytes], total: int, connections: int,
        extra: list[str]) -> dict:
    """One load test of one server mode."""
    with tempfile.TemporaryFile() as log:
        process, port, warm_up = start_server(model, MODES[mode] + extra, log)
        try:
            requests = [request_bytes(image, port) for image in images]
            asyncio.run(load(port, requests, WARM_UP_REQUESTS, connections))
            result = asyncio.run(load(port, requests, total, connections))
        finally:
            process.terminate()
            process.wait()
    return {"mode": mode, "connections": connections, **result, "server": warm_up}


def main(argv: list[str] | None = None) -> int:
    """Run the load test; exit code 1 when any request failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--model", default="tutorial-cifar10", help="a cnnkit zoo name")
    parser.add_argument("--size", type=int, default=32, help="its input size (square, RGB)")
    parser.add_argument("--server-options", default="", metavar="'--threads 2 ...'",
                        help="more cnnkit serve options for both modes")
    args = parser.parse_args(argv)
    from cnnkit import zoo

    images = real_jpegs(args.data, 1000)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / f"{args.model}.keras"
        zoo.get(args.model, (args.size, args.size, 3), 10).save(model)
        for _ in range(args.rounds):
            for mode in MODES:
                results.append(run(model, mode, images, args.requests, args.connections,
                                   args.server_options.split()))
                print(json.dumps(results[-1]), flush=True)
    print(f"\n{'mode':<14} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8}")
    for r in results:
        print(f"{r['mode']:<14} {r['requests']:>9,} {r['errors']:>7} "
              f"{r['requests_per_second']:>8.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    rate = {m: statistics.median(r["requests_per_second"] for r in results if r["mode"] == m)
            for m in MODES}
    print(f"batching: {rate['batching'] / rate['one at a time']:.2f}x the requests/s of one "
          "at a time")
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
