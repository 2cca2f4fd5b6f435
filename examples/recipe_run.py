"""Train a recipe (``cnnkit recipes`` lists them) on the data it was tuned on and test it;
a regression check of the recipe's accuracy.

    python examples/recipe_run.py mnist-fast [--seed 0] [--precision fp32|bf16]
                                  [--epochs N] [--data ../shared/data]
    CNNKIT_MIN_ACCURACY=0.99 python examples/recipe_run.py mnist-fast   # exit 1 below 99 %

It prints one JSON line: the test accuracy (with the recipe's test-time averaging, and
without it), the seconds from process start to that accuracy (Python's start-up, imports,
reading the cached data and building the model included), the process's CPU seconds
(user + system, all threads) and the load average, so runs on a busy machine can be judged:
with 2 threads on an idle machine, wall time is about CPU time / 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from cnnkit import recipes
from cnnkit.data import load_splits
from cnnkit.recipes.training import fit_recipe
from cnnkit.seeding import set_seed

ROOT = Path(__file__).resolve().parent.parent


def seconds_since_start() -> float:
    """Wall seconds since this process started (Linux: from /proc; elsewhere: since this
    module was imported)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, IndexError, ValueError, AttributeError):
        return time.perf_counter() - _IMPORTED


_IMPORTED = time.perf_counter()


def run(name: str, seed: int, precision: str | None, epochs: int | None) -> dict:
    """Train recipe ``name`` on its dataset and test it; returns the numbers."""
    recipe = recipes.get(name)
    load_before = os.getloadavg()[0]
    splits = load_splits(recipe.dataset, progress=False)
    set_seed(seed)
    model = fit_recipe(recipe, splits["train"], epochs=epochs, precision=precision)
    _, accuracy = model.evaluate(splits["test"], tta=recipe.tta, verbose=0)
    seconds = seconds_since_start()
    cpu = os.times()
    result = {"recipe": name, "seed": seed, "precision": model.precision,
              "epochs": epochs or recipe.epochs, "test_accuracy": round(accuracy, 4),
              "seconds": round(seconds, 1), "cpu_seconds": round(cpu.user + cpu.system, 1),
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "target": recipe.target, "budget_seconds": recipe.budget}
    if recipe.tta:
        _, plain = model.evaluate(splits["test"], verbose=0)
        result["test_accuracy_without_tta"] = round(plain, 4)
    return result


def main() -> int:
    """Run the recipe, print the JSON line; exit 1 below ``$CNNKIT_MIN_ACCURACY``."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=recipes.names())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default=None,
                        help="default: the recipe's (auto: bf16 where the CPU has it natively)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder of the reference data ($CNNKIT_DATA wins if set)")
    args = parser.parse_args()
    os.environ.setdefault("CNNKIT_DATA", str(args.data))
    result = run(args.recipe, args.seed, args.precision, args.epochs)
    minimum = os.environ.get("CNNKIT_MIN_ACCURACY")
    if minimum is not None:
        result["min_accuracy"] = float(minimum)
        result["passed"] = result["test_accuracy"] >= float(minimum)
    print(json.dumps(result), flush=True)
    return 0 if result.get("passed", True) else 1


if __name__ == "__main__":
    sys.exit(main())
