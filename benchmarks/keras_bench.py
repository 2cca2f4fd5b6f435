"""Keras 3 on TensorFlow, measured like cnnkit: a long-lived worker in the Keras venv.

It runs inside ``benchmarks/.venv-keras`` (see keras_env.py) and imports neither torch nor
cnnkit. It reads one JSON command per line on stdin and answers each with one JSON line on
stdout, so TensorFlow's import and graph tracing are paid once and its measurements can
interleave with the torch-side ones. Anything TensorFlow prints goes to stderr.

Commands (``op`` and its fields):

- ``load``: ``name``, ``images``, ``labels`` (``.npy`` paths of uint8 NHWC images and
  int labels). The images are scaled to float32 in [0, 1] once, here, outside any timing,
  as the Keras tutorials do (``x / 255.0``): the most favourable input for Keras.
- ``train``: ``name``, ``batch``, ``count``, ``warmup_batches``, ``precision`` (``fp32``,
  the default, or ``bf16``). The first call per (name, batch, precision) builds and
  compiles the model (Keras defaults, so ``jit_compile="auto"``; for ``bf16`` under the
  global policy ``mixed_bfloat16``, as a Keras user opts in to bf16, set while the model is
  built and reset to ``float32`` after) and warms it up with one ``fit`` on
  ``warmup_batches`` batches; each call answers ``img_s`` of one
  ``fit(epochs=1, verbose=0)`` over the first ``count`` loaded images.
- ``predict``: ``name``, ``method`` (``predict`` or ``predict_on_batch``), ``batch``,
  ``count``: img/s over ``count`` images in batches of ``batch`` (fp32, as cnnkit's).
- ``latency``: ``name``, ``method``, ``calls``: median ms of one-image calls.
- ``info``: versions, thread settings and each model's parameter count.

The environment variable ``KERAS_BENCH_THREADS``, when set, fixes TensorFlow's intra- and
inter-op threads (as ``run.py --threads`` does for torch).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf
from keras import layers


def mnist_model() -> keras.Sequential:
    """The Keras MNIST tutorial CNN (225,034 parameters)."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax")])


def cifar10_model() -> keras.Sequential:
    """The TensorFlow CIFAR-10 tutorial CNN (122,570 parameters)."""
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(), layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax")])


MODELS = {"mnist": mnist_model, "cifar10": cifar10_model}
OPS = ("load", "train", "predict", "latency", "info")
POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}


def compiled(name: str, precision: str = "fp32") -> keras.Sequential:
    """A fresh model compiled as in the tutorials, its layers made under the dtype policy
    of ``precision``."""
    if precision not in POLICIES:
        raise ValueError(f"precision {precision!r}: use one of {', '.join(POLICIES)}")
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(POLICIES[precision])
    try:
        model = MODELS[name]()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class Worker:
    """The loaded data and the models built so far, by name (and batch size for training)."""

    def __init__(self):
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.trained: dict[tuple[str, int, str], keras.Sequential] = {}
        self.predictors: dict[str, keras.Sequential] = {}

    def load(self, name: str, images: str, labels: str) -> dict:
        """Keep a sample's images, scaled to float32 [0, 1], and labels."""
        self.data[name] = (np.load(images).astype(np.float32) / np.float32(255.0),
                           np.load(labels))
        return {"images": len(self.data[name][0])}

    def train(self, name: str, batch: int, count: int, warmup_batches: int,
              precision: str = "fp32") -> dict:
        """img/s of one ``fit`` epoch over the first ``count`` loaded images."""
        x, y = (array[:count] for array in self.data[name])
        key = (name, batch, precision)
        if key not in self.trained:
            model = compiled(name, precision)
            warm = warmup_batches * batch
            model.fit(x[:warm], y[:warm], batch_size=batch, epochs=1, verbose=0)
            self.trained[key] = model
        model = self.trained[key]
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        return {"img_s": len(x) / (time.perf_counter() - start)}

    def _predictor(self, name: str) -> keras.Sequential:
        if name not in self.predictors:
            model = compiled(name)
            x = self.data[name][0][:256]
            model.predict(x, verbose=0)  # warm-up: traces both functions
            model.predict(x[:1], verbose=0)
            model.predict_on_batch(x)
            model.predict_on_batch(x[:1])
            self.predictors[name] = model
        return self.predictors[name]

    def predict(self, name: str, method: str, batch: int, count: int) -> dict:
        """img/s of ``predict`` (one call) or ``predict_on_batch`` (one call per batch)."""
        model, x = self._predictor(name), self.data[name][0][:count]
        start = time.perf_counter()
        if method == "predict":
            model.predict(x, batch_size=batch, verbose=0)
        else:
            for first in range(0, count, batch):
                model.predict_on_batch(x[first:first + batch])
        return {"img_s": count / (time.perf_counter() - start)}

    def latency(self, name: str, method: str, calls: int) -> dict:
        """Median ms of ``calls`` one-image calls of ``predict`` or ``predict_on_batch``."""
        model, x = self._predictor(name), self.data[name][0]
        call = ((lambda image: model.predict(image, verbose=0)) if method == "predict"
                else model.predict_on_batch)
        times = []
        for i in range(calls):
            start = time.perf_counter()
            call(x[i:i + 1])
            times.append(time.perf_counter() - start)
        return {"ms": statistics.median(times) * 1e3}

    def info(self) -> dict:
        """Versions, TensorFlow's thread settings, parameter counts and whether ``compile``
        chose XLA (``jit_compile="auto"``)."""
        return {"keras": keras.__version__, "tensorflow": tf.__version__,
                "numpy": np.__version__, "backend": keras.backend.backend(),
                "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                "params": {name: build().count_params() for name, build in MODELS.items()},
                "jit_compile": {name: bool(compiled(name).jit_compile) for name in MODELS}}


def set_threads() -> None:
    """Apply ``KERAS_BENCH_THREADS`` before TensorFlow runs any op."""
    threads = int(os.environ.get("KERAS_BENCH_THREADS", "0"))
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def serve() -> None:
    """Answer commands until stdin closes. Replies go to the original stdout; fd 1 itself
    is pointed at stderr so that nothing else (TensorFlow's C++ logs) can mix in."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    set_threads()
    worker = Worker()
    replies.write(json.dumps({"ok": True, "ready": True}) + "\n")
    replies.flush()
    for line in sys.stdin:
        command = json.loads(line)
        op = command.pop("op")
        try:
            if op not in OPS:
                raise ValueError(f"unknown op {op!r}; ops: {', '.join(OPS)}")
            reply = {"ok": True, **getattr(worker, op)(**command)}
        except Exception as exc:  # reported to the runner, which stops with it
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve()
