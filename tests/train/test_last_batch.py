"""A last training batch of one image: torch's BatchNorm cannot train on it (a ResNet's 1x1
map at 32x32 inputs), so networks with it leave that image out of the epoch and say so;
Keras's BatchNormalization trains on it (tests/layers/test_layers_batchnorm_statistics.py)."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit import zoo
from cnnkit.cli import main
from cnnkit.data import load
from cnnkit.keras import layers, models
from cnnkit.train.last_batch import rows_left_out
from cnnkit.train.schedules import make_schedule


def keras_bn_net():
    return models.Sequential([layers.Input((8,)), layers.Dense(4), layers.BatchNormalization(),
                              layers.Dense(2)]).net


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """One real Fashion-MNIST image as an RGB float batch of one, 64x64 (NCHW)."""
    image = load("fashion-mnist-mini", split="train", progress=False).images[0]
    pixels = np.asarray(Image.fromarray(image[:, :, 0]).convert("RGB").resize((64, 64)))
    return torch.tensor(pixels, dtype=torch.float32).permute(2, 0, 1)[None]


def test_rows_left_out_only_where_torch_batch_norm_would_see_one_value(photo):
    resnet = zoo.get("resnet18", num_classes=2).net
    small = torch.nn.functional.interpolate(photo, size=(32, 32))  # layer4 at 1x1
    with pytest.warns(UserWarning, match="a single image"):
        assert rows_left_out(resnet, 33, 32, 1, lambda: small) == 1
    with pytest.warns(UserWarning, match="each of the 2 processes one image"):
        assert rows_left_out(resnet, 66, 64, 2, lambda: small) == 2
    assert rows_left_out(resnet, 33, 32, 1, lambda: photo) == 0  # layer4 at 2x2: it trains
    assert resnet.training  # the check left the network as it was
    for rows, batch in ((34, 32), (32, 32), (1, 32), (65, 32)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            left_out = rows_left_out(resnet, rows, batch, 1, lambda: small)
        assert left_out == len(caught) == (rows % batch == 1 and rows > 1)
    vector = photo[0, 0, 32, 28:36][None]  # 8 features
    assert rows_left_out(keras_bn_net(), 33, 32, 1, lambda: vector) == 0  # Keras's BN trains
    base = zoo.get("resnet18", input_shape=(32, 32, 3), include_top=False, pooling="avg")
    base.trainable = False  # a frozen backbone's BatchNorm stays in inference mode: 1 is fine
    transfer = models.Sequential([layers.Input((32, 32, 3)), base, layers.Dense(2)])
    transfer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert rows_left_out(transfer.net, 33, 32, 1, lambda: small) == 0
    plain = zoo.get("tutorial-mnist", num_classes=2).net
    assert rows_left_out(plain, 33, 32, 1, lambda: photo[:, :1, :28, :28]) == 0  # no BN


def test_cli_resnet_at_32_px_with_a_last_batch_of_one(tmp_path):
    """ResNet-18 at 32x32 ends at a 1x1 map: 33 real images at batch 32 ended in torch's
    traceback at the end of the first epoch."""
    data = load("fashion-mnist-mini", split="train", progress=False)
    for index in range(33):
        folder = tmp_path / "photos" / data.class_names[data.labels[index] % 2]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.repeat(data.images[index], 3, axis=2)).resize((32, 32)).save(
            folder / f"{index}.png")
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "photos"), "--model", "resnet18", "--image-size", "32",
                 "--epochs", "2", "--val-split", "0", "--batch-size", "32", "--threads", "1",
                 "--schedule", "cosine", "--out", str(out), "--quiet"]) == 0
    log = (out / "log.txt").read_text()
    assert "warning: the last batch of each epoch (33 images in batches of 32)" in log
    history = list(csv.DictReader((out / "history.csv").open()))
    assert len(history) == 2
    # the schedule runs on its own 2 steps per epoch: epoch 2's one step is global step 2
    cosine = make_schedule("cosine", 1e-3, 2, 2)  # Adam's default rate, 2 epochs of 2 steps
    assert float(history[1]["learning_rate"]) == pytest.approx(cosine(2))
