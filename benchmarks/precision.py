"""fp32 against bf16 autocast: cnnkit's ``fit()`` img/s in both precisions, in the same run.

    python benchmarks/precision.py [--dataset ../shared/data/cifar10-jpg.tar.gz]
                                   [--model tutorial-cifar10] [--images 6400]
                                   [--batch 32 --batch 128] [--repeats 5]
                                   [--warmup-batches 10]

Measured through the public API, as a user trains: one model per precision and batch
size, ``model.precision = "fp32"`` or ``"bf16"``, a warm-up ``fit`` of a few batches, then
one ``fit(epochs=1, verbose=0)`` over the images per measurement (cnnkit_bench.CnnkitFit).
Repeats are interleaved with the order rotating (interleave.py), so both precisions see the
same machine load; each number is the median over the repeats, the ratio the median of
the per-repeat ratios. bf16 is forced even where the CPU emulates it, to show what that
costs. The model (a ``cnnkit.zoo`` name) is built for the dataset's image shape and
classes; any dataset ``cnnkit.data.load`` reads works, its training split is used, and
its images repeat when ``--images`` asks for more than it has.

Prints one JSON line per batch size.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from cnnkit import zoo
from cnnkit.data import load
from cnnkit.train.precision import native_bf16
from cnnkit_bench import CnnkitFit
from interleave import interleaved, paired_ratio, summary
from workload import Workload, seeded_sample

PRECISIONS = ("fp32", "bf16")
DEFAULT_DATA = Path(os.environ.get("CNNKIT_DATA", Path(__file__).resolve().parents[2]
                                   / "shared" / "data"))


def measure(workload: Workload, sample, batch: int, warmup_batches: int,
            repeats: int) -> dict:
    """Both precisions' img/s at one batch size, interleaved; one JSON-ready line."""
    fits = {p: CnnkitFit(workload, sample, batch, warmup_batches, p) for p in PRECISIONS}
    runs = interleaved({p: fit.images_per_second for p, fit in fits.items()}, repeats)
    return {"model": workload.name, "batch": batch, "images": len(sample.images),
            "repeats": repeats,
            **{f"{p}_img_s": round(summary(runs[p])["median"], 1) for p in PRECISIONS},
            "bf16_over_fp32": round(paired_ratio(runs["bf16"], runs["fp32"]), 3),
            "native_bf16": native_bf16(), "threads": torch.get_num_threads()}


def main() -> None:
    """Parse the options, load the data, print one JSON line per batch size."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(DEFAULT_DATA / "cifar10-jpg.tar.gz"),
                        help="a dataset cnnkit.data.load reads (path or built-in name)")
    parser.add_argument("--model", default="tutorial-cifar10", choices=zoo.names())
    parser.add_argument("--images", type=int, default=6400,
                        help="training images per measurement (repeating the dataset's)")
    parser.add_argument("--batch", type=int, action="append",
                        help="batch size (repeatable; default 32 and 128)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup-batches", type=int, default=10)
    args = parser.parse_args()
    train = load(args.dataset, progress=False)
    shape = tuple(train.images.shape[1:])
    workload = Workload(args.model, args.dataset,
                        lambda: zoo.get(args.model, shape, len(train.class_names)), shape)
    sample = seeded_sample(train, args.images)
    for batch in args.batch or (32, 128):
        print(json.dumps(measure(workload, sample, batch, args.warmup_batches, args.repeats)),
              flush=True)


if __name__ == "__main__":
    main()
