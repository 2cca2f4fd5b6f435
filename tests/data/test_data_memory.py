"""Peak memory does not grow with the dataset (issue 20): a training epoch with a held-out
split, shuffled batches and the report's duplicate check, on N and on 4N real photos served
from the decode cache, each run in a fresh process. The smaller brother of
benchmarks/scaling_data.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnkit.data import load

SIDE = 256  # upscaled CIFAR-10 photos: 192 KiB each, so a thousand make a large array
SMALL = 300

CHILD = f"""
import resource, sys
import torch
from cnnkit import layers as L
from cnnkit.data import load
from cnnkit.data.duplicates import image_digests
from cnnkit.models import Sequential

torch.set_num_threads(1)
data = load(sys.argv[1], image_size={SIDE}, progress=False)
train, val = data.split(0.1, seed=0)
model = Sequential([L.Input(({SIDE}, {SIDE}, 3)), L.MaxPooling2D(16), L.Flatten(),
                    L.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train, validation_data=val, epochs=1, batch_size=16, verbose=0)
assert len(image_digests(train.images)) == len(train)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, data.images.nbytes)
"""


def photo_tree(sample: dict[str, list[bytes]], count: int, root: Path) -> Path:
    """``root/<class>/<n>.jpg``: the sample's real photos repeated to ``count`` files."""
    photos = [(name, data) for name, files in sorted(sample.items()) for data in files]
    for n in range(count):
        name, data = photos[n % len(photos)]
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / f"{n}.jpg").write_bytes(data)
    return root


def peak_rss(tree: Path) -> tuple[int, int]:
    """Peak RSS of a fresh process training one epoch on ``tree``, and its image bytes."""
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(src), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rss, nbytes = map(int, done.stdout.split())
    return rss, nbytes


def test_peak_memory_stays_flat_from_n_to_4n_images(cifar_sample, tmp_path):
    if not Path("/proc/self/smaps").exists():
        pytest.skip("peak RSS of memory maps is measured on Linux only")
    trees = [photo_tree(cifar_sample["train"], n, tmp_path / f"tree-{n}")
             for n in (SMALL, 4 * SMALL)]
    for tree in trees:  # decode once, outside the measured processes
        load(tree, image_size=SIDE, progress=False)
    (small_rss, small_bytes), (large_rss, large_bytes) = map(peak_rss, trees)
    assert large_bytes == 4 * small_bytes > 200 * 2**20
    # 169 MiB more images. With 48 KiB images and a quarter of these bytes, the peak grew
    # 21-26 MiB in trial runs (malloc, the page budget's rounding), and by all the added
    # bytes with the page release turned off; a split that copied the images would add
    # at least that much again.
    assert large_rss - small_rss < 0.35 * (large_bytes - small_bytes), \
        (small_rss, large_rss, large_bytes)
