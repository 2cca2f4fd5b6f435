"""A FIFO or a device named directly is refused at once, not read (a hang, or no end)."""

from __future__ import annotations

import os

import pytest

from cnnkit.cli import main
from cnnkit.paths import special_kind
from tiny_model import trained_model


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "photo.png"
    os.mkfifo(path)
    return path


def test_special_kind_names_what_a_path_is(tmp_path, fifo):
    (tmp_path / "file.png").write_bytes(b"x")
    assert special_kind(fifo) == "a FIFO (named pipe)"
    assert special_kind("/dev/zero") == "a character device"
    assert special_kind(tmp_path / "file.png") is None
    assert special_kind(tmp_path) is None
    assert special_kind(tmp_path / "missing") is None


@pytest.mark.timeout(60)
def test_predict_refuses_a_fifo_and_a_link_to_dev_zero(tmp_path, fifo, capsys):
    model_dir = tmp_path / "model"
    trained_model().save(model_dir)
    link = tmp_path / "zero.png"
    link.symlink_to("/dev/zero")
    for path, kind in ((fifo, "FIFO"), (link, "character device")):
        assert main(["predict", str(model_dir), str(path)]) == 3
        assert kind in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_data_inspect_refuses_a_fifo(fifo, capsys):
    assert main(["data", "inspect", str(fifo)]) == 3
    assert "FIFO" in capsys.readouterr().err
