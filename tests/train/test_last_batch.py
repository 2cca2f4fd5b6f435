"""A last training batch of one image: torch's BatchNorm cannot train on it (a ResNet's 1x1
map at 32x32 inputs), so networks with it leave that image out of the epoch and say so;
Keras's BatchNormalization trains on it (tests/layers/test_layers_batchnorm_statistics.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from cnnkit import zoo
from cnnkit.cli import main
from cnnkit.data import load
from cnnkit.keras import layers, models
from cnnkit.train.last_batch import rows_left_out


def keras_bn_net():
    return models.Sequential([layers.Input((8,)), layers.Dense(4), layers.BatchNormalization(),
                              layers.Dense(2)]).net


def test_rows_left_out_only_for_torch_batch_norm_and_one_row_over():
    resnet = zoo.get("resnet18", num_classes=2).net
    with pytest.warns(UserWarning, match="a single image"):
        assert rows_left_out(resnet, 33, 32) == 1
    with pytest.warns(UserWarning, match="each of the 2 processes one image"):
        assert rows_left_out(resnet, 66, 64, world=2) == 2
    for rows, batch in ((34, 32), (32, 32), (1, 32), (65, 32)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            left_out = rows_left_out(resnet, rows, batch)
        assert left_out == len(caught) == (rows % batch == 1 and rows > 1)
    assert rows_left_out(keras_bn_net(), 33, 32) == 0  # Keras's BatchNormalization trains on it
    assert rows_left_out(zoo.get("tutorial-mnist", num_classes=2).net, 33, 32) == 0  # plain


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
                 "--out", str(out), "--quiet"]) == 0
    log = (out / "log.txt").read_text()
    assert "warning: the last batch of each epoch (33 images in batches of 32)" in log
    assert len((out / "history.csv").read_text().splitlines()) == 3  # header, 2 epochs
