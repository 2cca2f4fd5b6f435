"""``cnnkit evaluate``: tables and JSON, decoding files to the model's input, class names
matched by name, and errors with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit import cli
from cnnkit.errors import ConfigError, DataError, ShapeError
from cnnkit.evaluation import evaluate_model
from cnnkit.models import ModelFileError
from tiny_model import trained_model
from training_runs import mini


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    trained_model().save(path)
    return path


def photo_tree(root: Path, classes: list[str], per_class: int = 5) -> Path:
    """``root/test/<class>/*.png``: real Fashion-MNIST test images of those classes, saved
    as 32x32 RGB (not the model's 28x28 grayscale)."""
    test = mini("test")
    for name in classes:
        label = test.class_names.index(name) if name in test.class_names else 0
        folder = root / "test" / name
        folder.mkdir(parents=True)
        for i in np.flatnonzero(test.labels == label)[:per_class]:
            image = Image.fromarray(test.images[i, :, :, 0]).convert("RGB").resize((32, 32))
            image.save(folder / f"{i}.png")
    return root


def test_text_report(model_file, capsys):
    assert cli.main(["evaluate", str(model_file), "--data", "fashion-mnist-mini", "-q"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith(f"{model_file} on fashion-mnist-mini (test)\n1,000 images, 10 classes")
    for text in ("accuracy", "top-5 accuracy", "precision", "recall", "f1", "Ankle boot",
                 "macro avg", "most confused (true -> predicted)", "highest loss",
                 "expected calibration error"):
        assert text in out
    assert captured.err == ""


def test_json_equals_the_library(model_file, capsys):
    argv = ["evaluate", str(model_file), "--data", "fashion-mnist-mini", "--json",
            "--batch-size", "100", "-q"]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    expected = evaluate_model(trained_model(), mini("test"), progress=False).to_dict()
    assert (result["model"], result["data"], result["split"]) == (
        str(model_file), "fashion-mnist-mini", "test")
    assert result["accuracy"] == expected["accuracy"] > 0.5
    assert result["confusion_matrix"] == expected["confusion_matrix"]
    assert result["per_class"] == expected["per_class"]
    assert result["loss"] == pytest.approx(expected["loss"], rel=1e-9)


def test_files_are_decoded_to_the_model_input_and_classes_matched_by_name(
        model_file, tmp_path, capsys):
    root = photo_tree(tmp_path / "photos", ["Trouser", "Bag", "Sneaker"])
    assert cli.main(["evaluate", str(model_file), "--data", str(root), "--json", "-q"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == 15
    assert result["classes"] == trained_model().class_names  # the model's order, all 10
    support = {row["class"]: row["support"] for row in result["per_class"]}
    assert support["Trouser"] == support["Bag"] == support["Sneaker"] == 5
    assert sum(support.values()) == 15
    assert result["worst_examples"][0]["path"].endswith(".png")


def test_a_class_the_model_does_not_know_is_an_error(model_file, tmp_path, capsys):
    root = photo_tree(tmp_path / "photos", ["Trouser", "zebra"])
    assert cli.main(["evaluate", str(model_file), "--data", str(root), "-q"]) == \
        ShapeError.exit_code == 5
    err = capsys.readouterr().err
    assert "error:" in err and "zebra" in err
    assert "hint: the model's classes are: T-shirt/top, Trouser" in err


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--data", "fashion-mnist-mini", "--split", "val"], DataError.exit_code, "no 'val' split"),
    (["--data", "no/such/folder"], DataError.exit_code, "does not exist"),
])
def test_data_errors(model_file, argv, code, message, capsys):
    assert cli.main(["evaluate", str(model_file), *argv, "-q"]) == code
    assert message in capsys.readouterr().err


def test_a_missing_model_is_a_model_file_error(tmp_path, capsys):
    argv = ["evaluate", str(tmp_path / "none.keras"), "--data", "fashion-mnist-mini", "-q"]
    assert cli.main(argv) == ModelFileError.exit_code
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["m.keras"], ["m.keras", "--data", "x", "--batch-size", "0"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["evaluate", *argv])
    assert done.value.code == ConfigError.exit_code == 2


def test_the_data_may_be_the_second_argument(model_file, capsys):
    results = []
    for spelling in (["fashion-mnist-mini"], ["--data", "fashion-mnist-mini"]):
        assert cli.main(["evaluate", str(model_file), *spelling, "--json", "-q"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0] == results[1] and results[0]["samples"] == 1000


def test_the_data_given_both_ways_is_a_usage_error(model_file, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["evaluate", str(model_file), "fashion-mnist-mini", "--data", "mnist"])
    assert done.value.code == 2
    assert "the data is given twice (fashion-mnist-mini and mnist)" in capsys.readouterr().err
