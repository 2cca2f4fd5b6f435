"""The zoo's speed baseline: its networks as plain modules in a hand-written PyTorch loop.

    python benchmarks/zoo_plain.py [--quick] [--repeats 3] [--only resnet20-train ...]
                                   [--data ../shared/data]

The rows of issue 17's speed item, plain-torch side (cnnkit's side is to be added next to
it, interleaved round by round as run.py does):

- ``resnet20-train``: ResNet-20 on CIFAR-10 training images (32x32), batch 128;
- ``resnet18-train``: ResNet-18 on Imagenette photos resized to 224x224, batch 32;
- ``resnet20-predict``, ``resnet18-predict``: the same networks and images, batch 256.

Training is torch_loop.TorchLoop with the zoo module (channels_last, Adam, cross-entropy,
each batch converted from uint8 NHWC once and scaled by 1/255): forward, backward and
the optimizer step. Predicting is the eval-mode module under ``torch.inference_mode`` on
the same conversion, eagerly (no ``torch.compile``). Each row is a warm-up, then
``--repeats`` measurements; it prints the median img/s per row as a table and one JSON
line per row (every sample kept). ``--quick`` is a smoke test: its numbers are not
measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnkit.data import load
from cnnkit.zoo.resnet import resnet18
from cnnkit.zoo.resnet_cifar import resnet20
from interleave import summary
from torch_loop import TorchLoop
from workload import Sample, seeded_sample

DEFAULT_DATA = Path(os.environ.get("CNNKIT_DATA", Path(__file__).resolve().parents[2]
                                   / "shared" / "data"))


@dataclass(frozen=True)
class Row:
    """One measurement: a zoo network on a dataset's training images at one size."""

    name: str
    build: Callable[[int], nn.Module]
    dataset: str
    image_size: int | None  # None: the dataset's own size
    batch: int
    train: bool
    images: int  # per measurement
    quick_images: int


ROWS = [
    Row("resnet20-train", resnet20, "cifar10-jpg.tar.gz", None, 128, True, 6400, 256),
    Row("resnet18-train", resnet18, "imagenette-mini.tar.gz", 224, 32, True, 320, 64),
    Row("resnet20-predict", resnet20, "cifar10-jpg.tar.gz", None, 256, False, 10240, 512),
    Row("resnet18-predict", resnet18, "imagenette-mini.tar.gz", 224, 256, False, 512, 256),
]


class PlainPredict:
    """An eval-mode module predicting a sample batch by batch, as a PyTorch user would."""

    def __init__(self, net: nn.Module, sample: Sample, batch: int):
        self.net = net.to(memory_format=torch.channels_last).eval()
        self.images = torch.from_numpy(sample.images)
        self.batch = batch
        self.predict(batch)  # oneDNN picks its kernels on first use

    def predict(self, count: int) -> None:
        """The class of each of the first ``count`` images."""
        with torch.inference_mode():
            for start in range(0, count, self.batch):
                x = self.images[start:start + self.batch].permute(0, 3, 1, 2)
                self.net(x.float().mul_(1.0 / 255.0)).argmax(1)

    def images_per_second(self) -> float:
        """Prediction throughput over the whole sample."""
        start = time.perf_counter()
        self.predict(len(self.images))
        return len(self.images) / (time.perf_counter() - start)


def sample_for(row: Row, data_dir: Path, count: int) -> Sample:
    """``count`` training images of the row's dataset at its size (repeating if fewer)."""
    train = load(data_dir / row.dataset, image_size=row.image_size, progress=False)
    return seeded_sample(train, count)


def measure(row: Row, sample: Sample, repeats: int, warmup_batches: int) -> dict:
    """One row's samples and median img/s."""
    classes = int(sample.labels.max()) + 1
    torch.manual_seed(0)
    if row.train:
        contender = TorchLoop(row.name, sample, row.batch, warmup_batches,
                              build=lambda: row.build(classes))
    else:
        contender = PlainPredict(row.build(classes), sample, row.batch)
    runs = [contender.images_per_second() for _ in range(repeats)]
    return {"row": row.name, "batch": row.batch, "images": len(sample.images),
            "image_shape": list(sample.images.shape[1:]), "threads": torch.get_num_threads(),
            "img_s": summary(runs)}


def main() -> None:
    """Parse the options, measure each row, print a table and one JSON line per row."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke test of every row")
    parser.add_argument("--only", action="append", choices=[row.name for row in ROWS],
                        help="measure only this row (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup-batches", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the folder holding cifar10-jpg.tar.gz and imagenette-mini.tar.gz")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    results = []
    for row in ROWS:
        if args.only and row.name not in args.only:
            continue
        if not (args.data / row.dataset).is_file():
            sys.exit(f"{row.dataset} not found in {args.data}: pass --data with the folder "
                     "that holds it")
        count = row.quick_images if args.quick else row.images
        print(f"[{time.strftime('%H:%M:%S')}] {row.name}: {count} images", file=sys.stderr,
              flush=True)
        results.append(measure(row, sample_for(row, args.data, count), repeats,
                               1 if args.quick else args.warmup_batches))
    print("| row | batch | image | plain torch img/s |\n|---|--:|---|--:|")
    for r in results:
        print(f"| {r['row']} | {r['batch']} | {'x'.join(map(str, r['image_shape']))} "
              f"| {r['img_s']['median']:,.1f} |")
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
