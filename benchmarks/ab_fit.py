"""Interleaved A/B of ``fit()`` speed: an earlier commit against the working tree.

The earlier commit is checked out once into a ``git worktree`` (detached, under /tmp), and
each measurement is a fresh subprocess whose ``PYTHONPATH`` points at one tree or the
other, so the two versions never share a process. Rounds alternate the versions (the order
rotates, see interleave.py); each version's number is the median img/s over rounds, the
ratio the median of the per-round ratios new / old. Both versions train the tutorial CNNs
on the same seeded sample of real images (workload.py), written once as ``.npy`` files.

    python benchmarks/ab_fit.py --before 7be78c2 --rounds 6
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

# The child: only public API that both versions have (zoo, compile, fit).
CHILD = """
import sys, time
import numpy as np
from cnnkit.seeding import set_seed
from cnnkit import zoo
images, labels = np.load(sys.argv[1]), np.load(sys.argv[2])
build = {"mnist": zoo.tutorial_mnist, "cifar10": zoo.tutorial_cifar10}[sys.argv[3]]
batch = int(sys.argv[4])
set_seed(0)
model = build(images.shape[1:], 10)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(images[:1024], labels[:1024], batch_size=batch, epochs=1, verbose=0)  # warm-up
start = time.perf_counter()
model.fit(images, labels, batch_size=batch, epochs=1, verbose=0)
print(len(images) / (time.perf_counter() - start))
"""


def checkout(commit: str) -> Path:
    """The source tree of ``commit`` (a detached git worktree, made once)."""
    folder = Path(tempfile.gettempdir()) / f"cnnkit-ab-{commit}"
    if not (folder / "src" / "cnnkit").is_dir():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder),
                        commit], check=True, capture_output=True)
    return folder


def images_per_second(tree: Path, arrays: dict[str, str], model: str, batch: int) -> float:
    """One fresh process training on ``tree``'s cnnkit; its steady img/s."""
    done = subprocess.run([sys.executable, "-c", CHILD, arrays["images"], arrays["labels"],
                           model, str(batch)], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(tree / "src")})
    if done.returncode:
        raise RuntimeError(f"{tree}: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def main() -> None:
    from interleave import interleaved, paired_ratio, summary
    from workload import WORKLOADS, load_sample

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare against")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args()
    trees = {"before": checkout(args.before), "after": REPO}
    folder = Path(tempfile.mkdtemp(prefix="cnnkit-ab-data-"))
    results = {}
    for name, workload in WORKLOADS.items():
        arrays = load_sample(workload, args.data, args.images).save_npy(folder, name)
        for batch in args.batches:
            print(f"{name}, batch {batch}:", flush=True)
            jobs = {version: (lambda t=tree, b=batch, a=arrays, n=name:
                              images_per_second(t, a, n, b))
                    for version, tree in trees.items()}
            samples = interleaved(jobs, args.rounds, lambda line: print(line, flush=True))
            ratio = paired_ratio(samples["after"], samples["before"])
            results[f"{name}-{batch}"] = {"ratio": ratio, **{
                version: summary(values) for version, values in samples.items()}}
            print(f"  after / before: {ratio:.3f}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
