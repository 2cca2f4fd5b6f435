"""Time to accuracy: wall time from process start until the test accuracy reaches a target.

The runs are those of examples/accuracy_runs.py, with the tutorials' default settings
(Adam, batch 32, no augmentation): the MNIST tutorial CNN on MNIST (target 99.0 %), the
same CNN with Dropout(0.4) before each Dense layer on Fashion-MNIST (91 %), and the CIFAR-10
tutorial CNN on the CIFAR-10 JPEGs (68 %).

Each run is a fresh process, started with the wall-clock time just before it was launched,
so its time includes Python's start-up, importing torch and cnnkit, reading the data
(from cnnkit's decoded-image cache, filled beforehand) and building the model. After every
epoch it evaluates the whole test split and prints one JSON line; it stops at the first
epoch that reaches the target, or after ``--max-epochs``.

    python benchmarks/tta.py mnist --data ../shared/data      # one run, in this process
    python benchmarks/tta.py mnist-fast                       # a recipe ('cnnkit recipes')

A recipe (cnnkit.recipes) runs as examples/recipe_run.py: its whole schedule, then one test
(with the recipe's test-time averaging); its time is from process start to that accuracy,
and its row also gives the process's CPU seconds and the load average (on a busy machine,
wall time says little: with 2 threads on an idle machine it is about CPU time / 2).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from cnnkit import recipes as cnnkit_recipes
from cnnkit.data import load_splits
from cnnkit.seeding import set_seed
from cnnkit.train.callbacks import Callback

ROOT = Path(__file__).resolve().parent.parent


def recipes() -> dict:
    """``RUNS`` of examples/accuracy_runs.py: name -> (data, builder, epochs, target)."""
    spec = importlib.util.spec_from_file_location("accuracy_runs",
                                                  ROOT / "examples" / "accuracy_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RUNS


def recipe_time(name: str, data_dir: Path, seed: int = 0, epochs: int | None = None,
                precision: str | None = None) -> dict:
    """Run recipe ``name`` (examples/recipe_run.py) in a fresh process; its row."""
    command = [sys.executable, str(ROOT / "examples" / "recipe_run.py"), name,
               "--data", str(data_dir), "--seed", str(seed)]
    command += ["--epochs", str(epochs)] if epochs else []
    command += ["--precision", precision] if precision else []
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"recipe run {name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    reached = result["test_accuracy"] >= result["target"]
    return {"run": name, "target": result["target"], "reached": reached,
            "seconds": result["seconds"] if reached else None, "epochs": result["epochs"],
            "best_accuracy": result["test_accuracy"], "max_epochs": result["epochs"],
            "cpu_seconds": result["cpu_seconds"], "load_average": result["load_average"],
            "budget_seconds": result["budget_seconds"], "precision": result["precision"],
            "curve": [{"epoch": result["epochs"], "test_accuracy": result["test_accuracy"],
                       "seconds": result["seconds"]}]}


def time_to_accuracy(name: str, data_dir: Path, max_epochs: int,
                     train_images: int | None = None, threads: int | None = None) -> dict:
    """Run ``name`` in a fresh process; its curve and when (if) it reached the target."""
    command = [sys.executable, __file__, name, "--data", str(data_dir), "--started",
               repr(time.time()), "--max-epochs", str(max_epochs)]
    if train_images:
        command += ["--train-images", str(train_images)]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"time-to-accuracy run {name} failed:\n{done.stderr[-3000:]}")
    curve = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    target = recipes()[name][3]
    reached = next((point for point in curve if point["test_accuracy"] >= target), None)
    return {"run": name, "target": target, "reached": reached is not None,
            "seconds": reached["seconds"] if reached else None,
            "epochs": reached["epoch"] if reached else None,
            "best_accuracy": max(point["test_accuracy"] for point in curve),
            "max_epochs": max_epochs, "train_images": train_images, "curve": curve}


class StopAtTarget(Callback):
    """Evaluates the test split after each epoch, prints the point, stops at the target."""

    def __init__(self, test, target: float, started: float):
        self.test, self.target, self.started = test, target, started

    def on_epoch_end(self, epoch, logs=None):
        _, accuracy = self.model.evaluate(self.test, verbose=0)
        print(json.dumps({"epoch": epoch + 1, "test_accuracy": round(accuracy, 4),
                          "seconds": round(time.time() - self.started, 2)}), flush=True)
        if accuracy >= self.target:
            self.model.stop_training = True


def run(name: str, data_dir: Path, started: float, max_epochs: int,
        train_images: int | None) -> None:
    """Train until the test accuracy reaches the target; one JSON line per epoch."""
    source, build, _, target = recipes()[name]
    splits = load_splits(data_dir / source, progress=False)
    train = splits["train"]
    if train_images:
        train = train.fraction(train_images / len(train))
    set_seed(0)
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train, epochs=max_epochs, batch_size=32, verbose=0,
              callbacks=[StopAtTarget(splits["test"], target, started)])


def main() -> None:
    """One run in this process (the runner starts it with ``--started``)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", choices=[*recipes(), *cnnkit_recipes.names()])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--started", type=float, default=None,
                        help="wall-clock time the process was launched (default: now)")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--train-images", type=int, default=None,
                        help="train on a stratified subset of this many images (smoke tests)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's, all cores)")
    args = parser.parse_args()
    if args.run in cnnkit_recipes.names():
        print(json.dumps(recipe_time(args.run, args.data)))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    run(args.run, args.data, args.started or time.time(), args.max_epochs, args.train_images)


if __name__ == "__main__":
    main()
