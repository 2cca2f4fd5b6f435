"""fp32 against bf16 autocast: training img/s of the CIFAR tutorial CNN, in the same run.

    python benchmarks/precision.py [--data ../shared/data] [--steps 150] [--repeats 5]

Repeats are interleaved (fp32, bf16, fp32, bf16, ...) and the median is reported, so both
see the same machine load. bf16 is forced here even where cnnkit would fall back to fp32
(no native bf16 on the CPU), to show what emulated bf16 would cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from cnnkit.data import load
from cnnkit.seeding import set_seed
from cnnkit.train.batches import ArraySource
from cnnkit.train.loop import Task, Trainer
from cnnkit.train.precision import native_bf16
from cnnkit.zoo import tutorial_cifar10


def images_per_second(precision: str, source: ArraySource, batch: int, steps: int) -> float:
    """Train ``steps`` batches with ``precision`` and return images/second."""
    set_seed(0)
    model = tutorial_cifar10()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.optimizer.build(model.net.parameters())
    trainer = Trainer(model, Task(model.loss, model.metrics, True), precision)
    order = np.random.default_rng(0).permutation(len(source))
    batches = list(source.batches(order[: batch * (steps + 5)], batch, prefetch=0))
    model.net.train()
    for x, y, w in batches[:5]:  # warm-up: oneDNN builds its kernels on first use
        trainer.train_step(x, y, w)
    start = time.perf_counter()
    for x, y, w in batches[5:]:
        trainer.train_step(x, y, w)
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    """Print one JSON line per batch size with median img/s of each precision."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    train = load(args.data / "cifar10-jpg.tar.gz", progress=False)
    source = ArraySource(train.images, train.labels, tutorial_cifar10().preprocess)
    for batch in (32, 128):
        runs: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for _ in range(args.repeats):
            for precision in runs:
                runs[precision].append(images_per_second(precision, source, batch, args.steps))
        fp32, bf16 = (statistics.median(runs[p]) for p in ("fp32", "bf16"))
        print(json.dumps({"batch": batch, "fp32_img_s": round(fp32), "bf16_img_s": round(bf16),
                          "bf16_over_fp32": round(bf16 / fp32, 2), "native_bf16": native_bf16(),
                          "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
