"""Small things that cost newcomers time (issue 22): a run directory given where its model
belongs, hints that suggest a flag the command lacks or a size the images already have,
and a zero-width terminal that hid the epoch metrics."""

from __future__ import annotations

import os

import pytest

from cnnkit import layers as L
from cnnkit import zoo
from cnnkit.cli import main
from cnnkit.errors import ShapeError
from cnnkit.models import Sequential
from cnnkit.train import progress
from sample_images import mnist_pngs


def test_predict_on_a_run_directory_names_its_model(tmp_path, capsys):
    run = tmp_path / "runs" / "tiny"
    model = Sequential([L.Input((28, 28, 1)), L.Flatten(), L.Dense(2, activation="softmax")])
    model.save(run / "model" / "best")
    (tmp_path / "a.png").write_bytes(mnist_pngs(1)[0])
    assert main(["predict", str(run), str(tmp_path / "a.png")]) == 7
    assert f"hint: give {run / 'model' / 'best'}" in capsys.readouterr().err


def test_wrong_channels_are_not_answered_with_an_image_size():
    with pytest.raises(ShapeError) as info:
        zoo.get("resnet18", (64, 64, 2), 10)
    assert "--image-size" not in info.value.hint and "RGB" in info.value.hint


def test_a_terminal_of_width_zero_still_shows_the_epoch_metrics(monkeypatch, capsys):
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=1: os.terminal_size((0, 24)))
    bar = progress.EpochProgress(1, 0, 1, steps=10)
    bar.close({"loss": 0.5, "accuracy": 0.75}, seconds=1.0)
    # one plain line (a bar would be cut to nothing)
    assert "100ms/step - accuracy: 0.7500 - loss: 0.5000" in capsys.readouterr().out
