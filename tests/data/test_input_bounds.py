"""Inputs refused at once: FIFOs and devices named directly, image sizes past the bound."""

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


@pytest.mark.parametrize("command", [["train", "fashion-mnist-mini", "--epochs", "1"],
                                     ["data", "inspect", "fashion-mnist-mini"]])
def test_an_image_size_past_the_bound_is_a_usage_error(command, capsys):
    """--image-size 100000 used to allocate a 45 TiB memory map (a traceback)."""
    with pytest.raises(SystemExit) as info:
        main([*command, "--image-size", "100000"])
    assert info.value.code == 2
    assert "up to 4096 pixels" in capsys.readouterr().err


def test_loading_at_a_size_past_the_bound_is_a_data_error():
    from cnnkit.data import load
    from cnnkit.errors import DataError

    with pytest.raises(DataError, match=r"outside 1\.\.4096"):
        load("fashion-mnist-mini", image_size=(50000, 8))


@pytest.mark.parametrize("out", ["a-file", "/proc/cnnkit-cannot-write-here/run"])
def test_a_run_directory_that_cannot_be_made_is_a_config_error(tmp_path, monkeypatch, capsys,
                                                               out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("mine")
    argv = ["train", "fashion-mnist-mini", "--epochs", "1", "--fraction", "0.05", "-q",
            "--out", out]
    assert main(argv) == 2
    assert "run directory" in capsys.readouterr().err
    assert (tmp_path / "a-file").read_text() == "mine" and not (tmp_path / "a-file-2").exists()


def test_an_empty_folder_says_so_instead_of_an_empty_skip_summary(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    assert main(["data", "inspect", str(tmp_path / "photos")]) == 3
    err = capsys.readouterr().err
    assert "no files were found there" in err and not err.rstrip().endswith(":")


def test_a_fifo_inside_a_folder_is_a_counted_skip_not_called_an_archive_member(tmp_path,
                                                                               capsys):
    from PIL import Image

    folder = tmp_path / "photos" / "cat"
    folder.mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (8, 8), (i * 90, 0, 0)).save(folder / f"{i}.png")
    os.mkfifo(folder / "pipe.png")
    assert main(["data", "inspect", str(tmp_path / "photos")]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "not_regular_file" in text and "archive member" not in text


@pytest.mark.parametrize(("option", "message"), [
    (["--augment", "flip,bogus"], "bogus"), (["--schedule", "cosin"], "cosin"),
    (["--class-weight", "balance"], "balance")])
def test_bad_names_are_refused_before_any_data_is_read(tmp_path, capsys, option, message):
    """The data path does not exist: a name error first proves nothing was loaded."""
    argv = ["train", str(tmp_path / "not-yet-decoded"), "--epochs", "1", "-q", *option]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "does not exist" not in err
