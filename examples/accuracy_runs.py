"""The three accuracy runs of the Keras tutorials, with Keras's defaults (batch 32, Adam).

    python examples/accuracy_runs.py [mnist|fashion|cifar10 ...] [--data ../shared/data]
                                     [--seed 0] [--precision fp32] [--batch-size 32]

Each run prints its wall time, training images/second and test accuracy. Targets:
MNIST tutorial CNN on MNIST, 5 epochs: >= 99.0 %; with Dropout(0.4) before each Dense on
Fashion-MNIST, 10 epochs: >= 91.0 %; CIFAR tutorial CNN on the CIFAR-10 JPEGs, 10 epochs:
>= 68 %.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from cnnkit.data import load_splits
from cnnkit.seeding import set_seed
from cnnkit.zoo import tutorial_cifar10, tutorial_mnist

RUNS = {
    "mnist": ("mnist-png.tar.gz", lambda: tutorial_mnist(), 5, 0.990),
    "fashion": ("fashion-mnist", lambda: tutorial_mnist(dropout=0.4), 10, 0.910),
    "cifar10": ("cifar10-jpg.tar.gz", lambda: tutorial_cifar10(), 10, 0.68),
}


def run(name: str, data_dir: Path, seed: int, precision: str = "fp32",
        batch_size: int = 32) -> dict:
    """Train and test one run; returns its numbers. ``precision="bf16"`` forces bf16
    autocast even where the CPU would emulate it (cnnkit train falls back to fp32 there);
    a ``batch_size`` of 64 or more trains as shares on 2 cores (train/core_threads.py)."""
    source, build, epochs, target = RUNS[name]
    started = time.perf_counter()
    splits = load_splits(data_dir / source)
    set_seed(seed)
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.precision = precision
    history = model.fit(splits["train"], epochs=epochs, batch_size=batch_size, verbose=2)
    _, accuracy = model.evaluate(splits["test"], verbose=0)
    wall = time.perf_counter() - started
    train_seconds = sum(t["epoch_seconds"] for t in history.timing)
    images = len(splits["train"]) * len(history.epoch)
    return {"run": name, "precision": precision, "seed": seed, "batch_size": batch_size,
            "epochs": epochs,
            "test_accuracy": round(accuracy, 4),
            "target": target, "passed": accuracy >= target, "wall_seconds": round(wall, 1),
            "train_images_per_second": round(images / train_seconds)}


def main() -> None:
    """Run the chosen runs (all by default) and print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", metavar="RUN", help=f"any of {', '.join(RUNS)}")
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("CNNKIT_DATA", "../shared/data")))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="default 32, Keras's (the Keras MNIST example uses 128)")
    args = parser.parse_args()
    unknown = set(args.runs) - set(RUNS)
    if unknown:
        parser.error(f"unknown run(s) {sorted(unknown)}; choose from {', '.join(RUNS)}")
    for name in args.runs or list(RUNS):
        print(json.dumps(run(name, args.data, args.seed, args.precision, args.batch_size)),
              flush=True)


if __name__ == "__main__":
    main()
