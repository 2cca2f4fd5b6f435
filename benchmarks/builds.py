"""cnnkit's kernels built for several instruction sets, against kernels off, a plain
PyTorch loop and Keras, interleaved in one process (fp32 throughout).

    .venv/bin/python benchmarks/builds.py [--data ../shared/data] [--images 3200]
                                          [--repeats 3] [--threads N] [--no-keras]

Each cnnkit contender trains with ``CNNKIT_KERNEL_MARCH`` set to its target (native: this
CPU; ``x86-64-v3``: AVX2, what most laptops and AMD servers before Zen 4 have;
``x86-64-v2``: SSE4.2) and the kernel probe on (kernels/probe.py), so each layer runs the
kernel only where that build measured faster; ``off`` is ``CNNKIT_KERNELS=0``. Keras 3
on TensorFlow runs in its own venv (keras_env.py). It prints one table row per model,
batch size and contender: median img/s, the paired ratios to the torch loop, to Keras and
to kernels off, and the probe's choice per layer for that build (none where an earlier run
already cached it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

import keras_env
from cnnkit.kernels import probe
from cnnkit.kernels.build import KERNELS_ENV, MARCH_ENV
from cnnkit_bench import CnnkitFit
from interleave import interleaved, paired_ratio, summary
from keras_client import KerasWorker
from torch_loop import TorchLoop
from workload import WORKLOADS, load_sample

X86_TARGETS = {"native": None, "avx2": "x86-64-v3", "sse4.2": "x86-64-v2"}
BATCHES = (32, 128)


@contextlib.contextmanager
def build_target(target: str | None, kernels: str = "auto") -> Iterator[None]:
    """Run the block with ``CNNKIT_KERNEL_MARCH=target`` (None: native) and
    ``CNNKIT_KERNELS=kernels``, then restore both."""
    saved = {name: os.environ.get(name) for name in (MARCH_ENV, KERNELS_ENV)}
    os.environ.pop(MARCH_ENV, None)
    if target:
        os.environ[MARCH_ENV] = target
    os.environ[KERNELS_ENV] = kernels
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


class BuildFit:
    """A CnnkitFit that always trains under one build target (or with kernels off)."""

    def __init__(self, target: str | None, kernels: str, *args):
        self.target, self.kernels = target, kernels
        with build_target(target, kernels):
            self.fit = CnnkitFit(*args, precision="fp32")
            self.choices = probe.new_decisions()

    def images_per_second(self) -> float:
        """One fit() epoch's img/s under this build."""
        with build_target(self.target, self.kernels):
            return self.fit.images_per_second()


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--images", type=int, default=3200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--no-keras", action="store_true", help="leave Keras out")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"threads {torch.get_num_threads()}, {args.images} images, {args.repeats} rounds, "
          "fp32; img/s median, ratios paired per round", flush=True)
    with contextlib.ExitStack() as stack:
        keras = None
        if not args.no_keras:
            keras_env.ensure(lambda line: print(line, file=sys.stderr))
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            keras = stack.enter_context(KerasWorker(folder / "keras.log", args.threads))
        for name, workload in WORKLOADS.items():
            sample = load_sample(workload, args.data, args.images)
            if keras is not None:
                keras.load(name, sample.save_npy(folder, name))
            for batch in BATCHES:
                measure(name, workload, sample, batch, keras, args.repeats)


def measure(name, workload, sample, batch: int, keras: KerasWorker | None,
            repeats: int) -> None:
    """One model and batch size: every contender in the same interleaved rounds."""
    warm = 10
    targets = (X86_TARGETS if platform.machine() in ("x86_64", "AMD64")
               else {"native": None})
    contenders = {"torch loop": TorchLoop(name, sample, batch, warm),
                  "off": BuildFit(None, "0", workload, sample, batch, warm)}
    jobs = {label: contender.images_per_second for label, contender in contenders.items()}
    if keras is not None:
        jobs["keras"] = lambda: keras.train_images_per_second(name, batch, len(sample.images),
                                                              warm)
        jobs["keras"]()  # its first call builds, traces and fits once
    for label, target in targets.items():
        contenders[label] = BuildFit(target, "auto", workload, sample, batch, warm)
        jobs[label] = contenders[label].images_per_second
    samples = interleaved(jobs, repeats, lambda line: print(line, file=sys.stderr))
    baselines = [b for b in ("torch loop", "keras", "off") if b in samples]
    for label, runs in samples.items():
        ratios = "  ".join(f"x{paired_ratio(runs, samples[b]):.2f} {b}" for b in baselines)
        print(f"{name:8s} b{batch:<4d} {label:11s} {summary(runs)['median']:8,.0f}  {ratios}",
              flush=True)
        for choice in getattr(contenders.get(label), "choices", []):
            print(f"{'':26s}{choice}", flush=True)


if __name__ == "__main__":
    main()
