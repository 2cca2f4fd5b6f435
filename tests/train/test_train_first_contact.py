"""A new user's first minute: ``cnnkit train photos/`` with nothing else trains a model
chosen from the data, ``-q`` prints just the results, and ``--resume`` restarts a run that
stopped before its first checkpoint."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import archive_sample
from PIL import Image

from cnnkit.cli import main
from cnnkit.models import load_model

CLASSES = ("0", "1", "7")


def image_tree(root: Path, sample: dict, splits: tuple[str, ...], classes, size=None) -> Path:
    """``root/<split>/<class>/<n>.<ext>`` from a sample of real images, resized to
    ``size`` x ``size`` (as JPEG) when given, else written as they are."""
    for split in splits:
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i, data in enumerate(sample[split][name]):
                if size is None:
                    (folder / f"{i}.png").write_bytes(data)
                else:
                    photo = Image.open(io.BytesIO(data)).convert("RGB").resize((size, size))
                    photo.save(folder / f"{i}.jpg", quality=90)
    return root


@pytest.fixture
def digits(tmp_path, mnist_sample) -> Path:
    """Real 28x28 grayscale MNIST PNGs of three digits: train/ and test/, 4 per class."""
    return image_tree(tmp_path / "digits", mnist_sample, ("train", "test"), CLASSES)


@pytest.fixture
def photos(tmp_path, shared_data) -> Path:
    """Real Imagenette colour photos, resized to 128x128: 2 classes, 3 train images each."""
    sample = archive_sample(shared_data / "imagenette-mini.tar.gz", 3)
    classes = sorted(sample["train"])[:2]
    return image_tree(tmp_path / "photos", sample, ("train",), classes, size=128)


def _settings(run: Path) -> dict:
    return yaml.safe_load((run / "config.yaml").read_text())


@pytest.mark.parametrize(("tree", "shape", "reason"), [
    ("digits", (28, 28, 1), "small images (28x28, grayscale)"),
    ("photos", (128, 128, 3), "colour photos (128x128), trained from scratch"),
])
def test_a_folder_alone_trains_a_model_chosen_from_the_data(request, tmp_path, capsys, tree,
                                                            shape, reason):
    data, run = request.getfixturevalue(tree), tmp_path / "run"
    assert main(["train", str(data), "--epochs", "1", "--out", str(run)]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.startswith(f"model: small-cnn at {'x'.join(map(str, shape))}, chosen from the "
                           f"data: {reason}")
    assert "pass --model NAME to choose another" in line
    assert line in (run / "log.txt").read_text().splitlines()
    settings = _settings(run)
    assert (settings["model"], settings["image_size"]) == ("small-cnn", list(shape[:2]))
    assert load_model(run / "model" / "last").input_shape == (None, *shape)
    with open(run / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 1


def test_the_default_run_name_names_the_chosen_model(digits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(digits), "--epochs", "1", "-q"]) == 0
    assert _settings(tmp_path / "runs" / "small-cnn-digits")["model"] == "small-cnn"


def test_quiet_prints_the_test_accuracy_and_the_run_directory_only(digits, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--data", str(digits), "--model", "small-cnn", "--epochs", "1", "-q"]
    assert main([*argv, "--out", str(run)]) == 0
    captured = capsys.readouterr()
    accuracy = json.loads((run / "metrics.json").read_text())["test_accuracy"]
    metric, directory = captured.out.splitlines()
    assert metric.startswith(f"test accuracy: {accuracy:.4f} (loss ")
    assert metric.endswith(", 12 images)")
    assert directory == f"run directory: {run}"
    assert captured.err == ""


def test_quiet_without_a_test_split_prints_the_best_validation_accuracy(
        tmp_path, mnist_sample, capsys):
    data = image_tree(tmp_path / "digits", mnist_sample, ("train",), CLASSES)
    run = tmp_path / "run"
    argv = ["train", "--data", str(data), "--model", "small-cnn", "--epochs", "2", "-q",
            "--val-split", "0.5",
            "--out", str(run)]
    assert main(argv) == 0
    with open(run / "history.csv") as f:
        val = [float(row["val_accuracy"]) for row in csv.DictReader(f)]
    best = val.index(max(val))
    assert capsys.readouterr().out.splitlines() == [
        f"best validation accuracy: {val[best]:.4f} (epoch {best + 1})",
        f"run directory: {run}"]


def test_data_given_both_ways_is_a_usage_error(digits, capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", str(digits), "--data", "fashion-mnist-mini"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "the data is given twice" in err and "--data" in err


def test_a_run_that_stopped_before_its_first_checkpoint_starts_over(digits, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--data", str(digits), "--model", "small-cnn", "--epochs", "1", "-q"]
    assert main([*argv, "--out", str(run)]) == 0
    for name in ("checkpoint", "model", "report"):  # as if killed during the first epoch
        shutil.rmtree(run / name)
    for name in ("history.csv", "metrics.json", "report.html"):
        (run / name).unlink()
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    captured = capsys.readouterr()
    assert "has no checkpoint" in captured.err and "starting it over" in captured.err
    assert "starting it over from its config.yaml" in (run / "log.txt").read_text()
    with open(run / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 2
    assert (run / "checkpoint" / "last.ckpt").is_file()
    assert f"run directory: {run}" in captured.out


def test_resume_of_a_folder_that_is_not_a_run_is_still_an_error(digits, capsys):
    assert main(["train", "--resume", str(digits)]) == 2
    assert "is not a run directory" in capsys.readouterr().err
