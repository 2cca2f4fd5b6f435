"""What the speed benchmarks train on: the two tutorial CNNs, each on its real dataset.

Each workload is a fixed, seeded sample of the training split (real images, all classes
mixed, as uint8 NHWC in RAM), so every framework trains on exactly the same images. The
Keras worker lives in another venv and gets them as ``.npy`` files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnkit.data import ImageDataset, load_splits
from cnnkit.zoo import tutorial_cifar10, tutorial_mnist


@dataclass(frozen=True)
class Workload:
    """A tutorial CNN (its cnnkit builder) and the dataset file it trains on."""

    name: str
    dataset: str
    build: Callable
    image_shape: tuple[int, int, int]


WORKLOADS = {
    "mnist": Workload("mnist", "mnist-png.tar.gz", tutorial_mnist, (28, 28, 1)),
    "cifar10": Workload("cifar10", "cifar10-jpg.tar.gz", tutorial_cifar10, (32, 32, 3)),
}


@dataclass
class Sample:
    """``count`` training images (uint8, ``(N, H, W, C)``) and their int64 labels."""

    images: np.ndarray
    labels: np.ndarray

    def save_npy(self, folder: Path, name: str) -> dict[str, str]:
        """Write both arrays as ``.npy`` files in ``folder``; returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"images": folder / f"{name}-images.npy", "labels": folder / f"{name}-labels.npy"}
        np.save(paths["images"], self.images)
        np.save(paths["labels"], self.labels)
        return {key: str(path) for key, path in paths.items()}


def load_sample(workload: Workload, data_dir: Path, count: int) -> Sample:
    """A seeded random sample of ``count`` training images, in random order, so that any
    first part of it is a random sample too (decoded once into cnnkit's cache, read from it
    afterwards)."""
    train = load_splits(data_dir / workload.dataset, progress=False)["train"]
    if count > len(train):
        raise ValueError(f"{workload.dataset} has {len(train)} training images, "
                         f"{count} were asked for")
    return seeded_sample(train, count)


def seeded_sample(dataset: ImageDataset, count: int) -> Sample:
    """``count`` images of ``dataset`` in a seeded random order; past the dataset's end the
    same order repeats (so a small dataset can fill a long measurement)."""
    order = np.random.default_rng(0).permutation(len(dataset))
    index = order[np.arange(count) % len(order)]
    return Sample(np.ascontiguousarray(dataset.images[index]),
                  np.asarray(dataset.labels[index], dtype=np.int64))
