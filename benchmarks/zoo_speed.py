"""The zoo's networks in cnnkit against the same modules in a hand-written PyTorch loop.

    python benchmarks/zoo_speed.py [--quick] [--repeats 3] [--only resnet20-train ...]
                                   [--data ../shared/data]

The rows of issue 17's speed item:

- ``resnet20-train``: ResNet-20 on CIFAR-10 training images (32x32), batch 128;
- ``resnet18-train``, ``mobilenet-v2-train``: on Imagenette photos at 224x224, batch 32;
- ``*-predict``: the same networks and images, batch 256.

The plain side trains with torch_loop.TorchLoop on the zoo module (channels_last, Adam,
cross-entropy, each batch converted from uint8 NHWC once and scaled by 1/255): forward,
backward and the optimizer step; it predicts with the eval-mode module under
``torch.inference_mode``, eagerly. cnnkit's side is what a user writes: ``zoo.get(name)``,
``compile("adam", ...)``, ``fit(epochs=1)`` or ``predict(batch_size=256)`` on the uint8
images, in fp32. The two alternate round by round (interleave.py), so a ratio is the
median of per-round ratios under the same load. It prints a table and one JSON line per
row (every sample kept). ``--quick`` is a smoke test: its numbers are not measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnkit import zoo
from cnnkit.data import load
from cnnkit.seeding import set_seed
from interleave import interleaved, paired_ratio, summary
from torch_loop import TorchLoop
from workload import Sample, seeded_sample

DEFAULT_DATA = Path(os.environ.get("CNNKIT_DATA", Path(__file__).resolve().parents[2]
                                   / "shared" / "data"))


@dataclass(frozen=True)
class Row:
    """One measurement: a zoo network on a dataset's training images at one size."""

    name: str
    network: str
    dataset: str
    image_size: int | None  # None: the dataset's own size
    batch: int
    train: bool
    images: int  # per measurement
    quick_images: int


ROWS = [
    Row("resnet20-train", "resnet20", "cifar10-jpg.tar.gz", None, 128, True, 6400, 256),
    Row("resnet18-train", "resnet18", "imagenette-mini.tar.gz", 224, 32, True, 320, 64),
    Row("mobilenet-v2-train", "mobilenet-v2", "imagenette-mini.tar.gz", 224, 32, True, 320,
        64),
    Row("resnet20-predict", "resnet20", "cifar10-jpg.tar.gz", None, 256, False, 10240, 512),
    Row("resnet18-predict", "resnet18", "imagenette-mini.tar.gz", 224, 256, False, 512, 256),
    Row("mobilenet-v2-predict", "mobilenet-v2", "imagenette-mini.tar.gz", 224, 256, False,
        512, 256),
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


class CnnkitZoo:
    """The zoo network as a user of cnnkit trains or predicts with it (fp32)."""

    def __init__(self, row: Row, sample: Sample, classes: int, warmup_batches: int):
        set_seed(0)
        self.model = zoo.get(row.network, sample.images.shape[1:], classes)
        self.model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"])
        self.model.precision = "fp32"
        self.row, self.sample = row, sample
        warm = warmup_batches * row.batch  # oneDNN picks its kernels on first use
        self.run(slice(0, warm))

    def run(self, part: slice) -> None:
        """One fit() epoch, or one predict() call, over ``part`` of the sample."""
        images, labels = self.sample.images[part], self.sample.labels[part]
        if self.row.train:
            self.model.fit(images, labels, batch_size=self.row.batch, epochs=1, verbose=0)
        else:
            self.model.predict(images, batch_size=self.row.batch, verbose=0)

    def images_per_second(self) -> float:
        """Throughput over the whole sample."""
        start = time.perf_counter()
        self.run(slice(None))
        return len(self.sample.images) / (time.perf_counter() - start)


def sample_for(row: Row, data_dir: Path, count: int) -> Sample:
    """``count`` training images of the row's dataset at its size (repeating if fewer)."""
    train = load(data_dir / row.dataset, image_size=row.image_size, progress=False)
    return seeded_sample(train, count)


def measure(row: Row, sample: Sample, repeats: int, warmup_batches: int) -> dict:
    """One row: both contenders' samples, interleaved, and the cnnkit / plain ratio."""
    classes = int(sample.labels.max()) + 1
    torch.manual_seed(0)
    build = zoo.NETWORKS[row.network].build
    if row.train:
        plain = TorchLoop(row.name, sample, row.batch, warmup_batches,
                          build=lambda: build(num_classes=classes))
    else:
        plain = PlainPredict(build(num_classes=classes), sample, row.batch)
    ours = CnnkitZoo(row, sample, classes, warmup_batches)
    runs = interleaved({"plain": plain.images_per_second, "cnnkit": ours.images_per_second},
                       repeats, log=lambda line: print(line, file=sys.stderr, flush=True))
    return {"row": row.name, "batch": row.batch, "images": len(sample.images),
            "image_shape": list(sample.images.shape[1:]), "threads": torch.get_num_threads(),
            "plain_img_s": summary(runs["plain"]), "cnnkit_img_s": summary(runs["cnnkit"]),
            "ratio": paired_ratio(runs["cnnkit"], runs["plain"])}


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
    print("| row | batch | image | plain torch img/s | cnnkit img/s | cnnkit / plain |\n"
          "|---|--:|---|--:|--:|--:|")
    for r in results:
        print(f"| {r['row']} | {r['batch']} | {'x'.join(map(str, r['image_shape']))} "
              f"| {r['plain_img_s']['median']:,.1f} | {r['cnnkit_img_s']['median']:,.1f} "
              f"| {r['ratio']:.2f}x |")
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
