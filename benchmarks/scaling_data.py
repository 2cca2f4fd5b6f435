"""Memory and time of one training epoch as the dataset grows: 10k, 50k and 250k images.

The trees are the 50,000 CIFAR-10 training JPEGs repeated under new names (hard links, in a
temporary folder on /tmp that is deleted afterwards). For each size, in fresh processes:

1. the decode cache is built (``load_splits``), timed on its own;
2. ``cnnkit train TREE --val-split 0.1 --epochs 1 --model tutorial-cifar10`` runs, and its
   peak resident memory (``wait4``'s ``ru_maxrss``: the process and what it waited for),
   the epoch's training seconds and images per second (history.csv) are recorded.

A warm-up run first builds the kernels and settles their speed probes, so the first size
pays no one-off cost; each size trains ``--repeats`` times (default 2; the row shows the
fastest epoch and the highest peak RSS of them, and every run's us/image), and the
smallest size runs again at the end, to show how far the machine's load moved the times
meanwhile. Training uses ``--threads 1`` by default: on a
shared machine, two OpenMP threads stall whenever another process holds one core, which
swamps the per-image times. The table prints images, cache build s, epoch s, us per trained
image, peak RSS MB, the ratios to the first row and the load average after each run. Issue
20 asks for a peak RSS within 1.3x from the smallest to the largest and a per-image time
within +-15 %.

    nice .venv/bin/python benchmarks/scaling_data.py [--sizes 10000,50000,250000] [--threads 1]
        [--repeats 2]

``--data`` is the shared folder holding ``cifar10-jpg.tar.gz`` (default ../shared/data).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from machine import describe, one_line

ROOT = Path(__file__).resolve().parent.parent
MODEL = "tutorial-cifar10"


def extract_train(archive: Path, folder: Path) -> list[Path]:
    """The training JPEGs of the CIFAR-10 archive, extracted into ``folder``, in an order
    that takes every class in turn (so any first ``n`` hold all classes)."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers()
                   if m.isfile() and "/train/" in f"/{m.name}" and m.name.endswith(".jpg")]
        tar.extractall(folder, members=members, filter="data")
    return sorted((folder.joinpath(m.name) for m in members),
                  key=lambda p: (p.name, p.parent.name))


def make_tree(jpegs: list[Path], count: int, root: Path) -> Path:
    """``root/<class>/<copy>-<name>.jpg``: the first ``count`` of the JPEGs repeated as
    often as needed, each a hard link under a new name."""
    for index in range(count):
        source = jpegs[index % len(jpegs)]
        target = root / source.parent.name / f"{index // len(jpegs)}-{source.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)
    return root


def run_child(args: list[str], env: dict) -> tuple[float, int]:
    """Run a Python child to its end: wall seconds and its peak RSS in bytes."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} failed with exit code {child.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss * 1024


def measure(tree: Path, out: Path, env: dict, threads: int, repeats: int = 1) -> dict:
    """Cache build seconds, then ``repeats`` training epochs in fresh processes: the
    fastest epoch's seconds and us/image, every run's us/image and the highest peak RSS."""
    build_s, _ = run_child(["-c", "import sys; from cnnkit.data import load_splits; "
                            "load_splits(sys.argv[1], progress=False)", str(tree)], env)
    runs = []
    for repeat in range(repeats):
        run_dir = out.with_name(f"{out.name}-{repeat}")
        _, rss = run_child(["-m", "cnnkit", "train", str(tree), "--val-split", "0.1",
                            "--epochs", "1", "--model", MODEL, "--threads", str(threads),
                            "--out", str(run_dir), "-q"], env)
        with (run_dir / "history.csv").open() as f:
            epoch = next(csv.DictReader(f))
        runs.append((float(epoch["epoch_seconds"]), 1e6 / float(epoch["images_per_second"]),
                     rss))
    best = min(runs, key=lambda run: run[1])
    return {"build_s": build_s, "epoch_s": best[0], "us_per_image": best[1],
            "all_us": [run[1] for run in runs], "rss": max(run[2] for run in runs),
            "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,250000",
                        help="images per tree, comma-separated (default 10000,50000,250000)")
    parser.add_argument("--threads", type=int, default=1, help="training threads (default 1)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="training runs per size; the fastest counts (default 2)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(one_line(describe()))
    with tempfile.TemporaryDirectory(prefix="cnnkit-scaling-", dir="/tmp") as folder:
        work = Path(folder)
        env = {**os.environ, "CNNKIT_CACHE": str(work / "cache"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                           os.environ.get("PYTHONPATH")]))}
        jpegs = extract_train(args.data / "cifar10-jpg.tar.gz", work / "jpegs")
        trees = {n: make_tree(jpegs, n, work / f"tree-{n}") for n in sizes}
        measure(make_tree(jpegs, 2000, work / "tree-warm-up"), work / "warm-up", env,
                args.threads)
        rows = []
        for step, n in enumerate([*sizes, sizes[0]]):
            rows.append({"images": n, **measure(trees[n], work / f"run-{step}", env,
                                                args.threads, args.repeats)})
            print(f"{n:,} images done", file=sys.stderr)
    first = rows[0]
    print(f"{'images':>8} {'cache build s':>14} {'epoch s':>8} {'us/image':>9} "
          f"{'peak RSS MB':>12} {'RSS ratio':>10} {'us/image ratio':>15} {'load':>5}  "
          "us/image of each run")
    for row in rows:
        print(f"{row['images']:>8,} {row['build_s']:>14.1f} {row['epoch_s']:>8.1f} "
              f"{row['us_per_image']:>9.0f} {row['rss'] / 2**20:>12.0f} "
              f"{row['rss'] / first['rss']:>10.2f} "
              f"{row['us_per_image'] / first['us_per_image']:>15.2f} {row['load']:>5.1f}  "
              + " ".join(f"{us:.0f}" for us in row["all_us"]))
    print("(the last row repeats the first size; its cache build is a cache hit)")


if __name__ == "__main__":
    main()
