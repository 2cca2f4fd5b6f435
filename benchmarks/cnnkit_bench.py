"""cnnkit's side: ``fit()`` training throughput, ``predict()`` throughput and latency.

Everything goes through the public Keras-style API, as a user would call it: uint8 NHWC
arrays in, ``verbose=0``. Times are wall-clock around the whole call, so per-call
overheads (argument checks, building the trainer, the batch thread) count.

Training runs in the precision it is given (``model.precision``, ``"fp32"`` unless asked),
set on the model so that ``CNNKIT_PRECISION`` in the environment cannot change what is
measured; ``predict()`` computes in fp32 always.
"""

from __future__ import annotations

import statistics
import time

from cnnkit.seeding import set_seed
from workload import Sample, Workload


def compiled_model(workload: Workload, jit_compile="auto"):
    """A fresh tutorial CNN, compiled as in the tutorials (Adam, sparse cross-entropy,
    accuracy)."""
    set_seed(0)
    model = workload.build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    return model


class CnnkitFit:
    """One model, trained by ``fit(epochs=1)`` over a sample for each measurement, in
    ``precision`` (``"fp32"`` or ``"bf16"`` autocast)."""

    def __init__(self, workload: Workload, sample: Sample, batch: int, warmup_batches: int,
                 precision: str = "fp32"):
        self.model = compiled_model(workload)
        self.model.precision = precision
        self.sample = sample
        self.batch = batch
        warm = warmup_batches * batch  # oneDNN picks its kernels on first use
        self.model.fit(sample.images[:warm], sample.labels[:warm], batch_size=batch,
                       epochs=1, verbose=0)

    def images_per_second(self) -> float:
        """Training throughput of one ``fit()`` epoch over the whole sample."""
        start = time.perf_counter()
        self.model.fit(self.sample.images, self.sample.labels, batch_size=self.batch,
                       epochs=1, verbose=0)
        return len(self.sample.images) / (time.perf_counter() - start)


class CnnkitPredict:
    """``predict()`` of one untrained model (the arithmetic is the same), with
    ``jit_compile=True``: batch-256 calls run through ``torch.compile``, one-image calls
    eagerly (models/inference.py). The compile happens in the warm-up, outside the timing;
    its cost is reported separately (``compile_seconds``)."""

    def __init__(self, workload: Workload, sample: Sample):
        self.model = compiled_model(workload, jit_compile=True)
        self.images = sample.images
        start = time.perf_counter()
        self.model.predict(self.images[:256], verbose=0)  # warm-up, both batch shapes
        self.compile_seconds = time.perf_counter() - start
        self.model.predict(self.images[:1], verbose=0)

    def images_per_second(self, batch: int, count: int) -> float:
        """Throughput of one ``predict(batch_size=batch)`` call on ``count`` images."""
        start = time.perf_counter()
        self.model.predict(self.images[:count], batch_size=batch, verbose=0)
        return count / (time.perf_counter() - start)

    def latency_ms(self, calls: int) -> float:
        """Median milliseconds of ``calls`` one-image ``predict()`` calls."""
        times = []
        for i in range(calls):
            start = time.perf_counter()
            self.model.predict(self.images[i:i + 1], verbose=0)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3
