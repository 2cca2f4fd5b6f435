"""The runner's handle on the Keras worker (keras_bench.py) running in the Keras venv.

One worker process is started per benchmark run and kept for its whole length; each
method sends one JSON command and waits for its one-line answer.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import keras_env

WORKER = Path(__file__).resolve().parent / "keras_bench.py"


class KerasError(RuntimeError):
    """The Keras worker failed; the message holds its error and the end of its log."""


class KerasWorker:
    """A running keras_bench.py; use as a context manager so it always stops."""

    def __init__(self, log_path: Path, threads: int | None = None):
        """Start the worker; ``threads`` sets TensorFlow's intra- and inter-op threads
        (default: TensorFlow's own choice, all cores)."""
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = log_path.open("w")
        env = keras_env.environment()
        if threads:
            env["KERAS_BENCH_THREADS"] = str(threads)
        # -P: the benchmarks folder is not put on sys.path, so none of its modules can
        # shadow a TensorFlow import.
        self.process = subprocess.Popen(
            [str(keras_env.python()), "-P", str(WORKER)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self._receive()  # the "ready" line, once TensorFlow is imported

    def __enter__(self) -> KerasWorker:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        """Close stdin (the worker then exits) and wait for it."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def _receive(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise KerasError(f"the Keras worker exited (code {self.process.wait()}); "
                             f"its log ends:\n{self._log_tail()}")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise KerasError(f"Keras worker: {reply['error']}\n{self._log_tail()}")
        return reply

    def _log_tail(self) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text().splitlines()[-20:])

    def call(self, op: str, **fields) -> dict:
        """Send one command and return its answer."""
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self._receive()

    def load(self, name: str, npy_paths: dict[str, str]) -> None:
        """Give the worker a sample (see Sample.save_npy)."""
        self.call("load", name=name, **npy_paths)

    def train_images_per_second(self, name: str, batch: int, count: int,
                                warmup_batches: int, precision: str = "fp32") -> float:
        """img/s of one Keras ``fit`` epoch over the first ``count`` images of the sample,
        in ``precision`` (``"bf16"``: the ``mixed_bfloat16`` policy)."""
        return self.call("train", name=name, batch=batch, count=count,
                         warmup_batches=warmup_batches, precision=precision)["img_s"]

    def predict_images_per_second(self, name: str, method: str, batch: int,
                                  count: int) -> float:
        """img/s of ``predict`` or ``predict_on_batch`` in batches of ``batch``."""
        return self.call("predict", name=name, method=method, batch=batch,
                         count=count)["img_s"]

    def latency_ms(self, name: str, method: str, calls: int) -> float:
        """Median ms of one-image ``predict`` or ``predict_on_batch`` calls."""
        return self.call("latency", name=name, method=method, calls=calls)["ms"]
