"""``cnnkit predict`` and ``cnnkit summary``, run in-process on real PNG and JPEG files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnkit import cli
from sample_images import cifar_jpegs, corrupt_png, mnist_pngs, zip_folder
from tiny_model import TINY_PARAMS, trained_model


@pytest.fixture
def model_file(tmp_path) -> str:
    path = tmp_path / "tiny.keras"
    trained_model().save(path)
    return str(path)


@pytest.fixture
def photos(tmp_path) -> tuple[Path, list[str]]:
    """Four real MNIST PNGs and two real CIFAR-10 JPEGs (resized and turned grayscale for
    the 28x28x1 model); returns the folder and the image paths in listing order."""
    root = tmp_path / "photos"
    (root / "digits").mkdir(parents=True)
    (root / "photos").mkdir()
    paths = []
    for i, data in enumerate(mnist_pngs(4)):
        paths.append(root / "digits" / f"{i}.png")
        paths[-1].write_bytes(data)
    for i, data in enumerate(cifar_jpegs(2)):
        paths.append(root / "photos" / f"{i}.jpg")
        paths[-1].write_bytes(data)
    (root / "README.txt").write_text("not an image")
    return root, [str(p) for p in paths]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_lines_show_the_top_3(model_file, photos, capsys):
    root, paths = photos
    code, out, err = run(capsys, "predict", model_file, str(root))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split("\t")[0] for line in lines] == paths
    names = trained_model().class_names
    for line in lines:
        fields = line.split("\t")[1].split("  ")
        assert len(fields) == 3
        classes = [field.rsplit(" ", 1) for field in fields]
        assert all(name in names for name, _ in classes)
        probabilities = [float(p) for _, p in classes]
        assert probabilities == sorted(probabilities, reverse=True)


def test_json_with_all_classes_sums_to_one(model_file, photos, capsys):
    root, paths = photos
    code, out, _ = run(capsys, "predict", model_file, str(root), "--top-k", "all", "--json")
    assert code == 0
    items = json.loads(out)
    assert [item["path"] for item in items] == paths
    for item in items:
        predictions = item["predictions"]
        assert sorted(p["class"] for p in predictions) == sorted(trained_model().class_names)
        probabilities = [p["probability"] for p in predictions]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)


def test_csv_rows(model_file, photos, capsys):
    root, paths = photos
    code, out, _ = run(capsys, "predict", model_file, str(root), "--csv", "--top-k", "2")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["path", "rank", "class", "probability"]
    assert [(r["path"], r["rank"]) for r in rows] == [(p, k) for p in paths for k in "12"]
    assert all(0.0 <= float(r["probability"]) <= 1.0 for r in rows)


def test_corrupt_file_is_named_counted_and_skipped(model_file, photos, capsys):
    root, paths = photos
    bad = root / "digits" / "2.png"
    bad.write_bytes(corrupt_png(bad.read_bytes()))
    code, out, err = run(capsys, "predict", model_file, str(root), "--top-k", "1")
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == \
        [p for p in paths if p != str(bad)]
    assert err.splitlines()[0].startswith(f"skipped {bad}: corrupt (")
    assert err.splitlines()[-1] == "1 file(s) skipped, 5 image(s) predicted"


def test_zip_and_single_file(model_file, photos, tmp_path, capsys):
    root, paths = photos
    archive = zip_folder(root, tmp_path / "photos.zip")
    code, out, _ = run(capsys, "predict", model_file, str(archive), "--top-k", "1", "-q")
    assert code == 0
    members = [Path(p).relative_to(root).as_posix() for p in paths]
    assert [line.split("\t")[0] for line in out.splitlines()] == \
        [f"{archive}::{m}" for m in members]
    code, out, _ = run(capsys, "predict", model_file, paths[-1], "--top-k", "1")
    assert code == 0
    assert out.startswith(f"{paths[-1]}\t")


def test_nothing_to_predict_is_a_data_error(model_file, tmp_path, capsys):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_bytes(b"")
    code, out, err = run(capsys, "predict", model_file, str(tmp_path / "bad"))
    assert (code, out) == (3, "")
    assert f"skipped {tmp_path / 'bad' / 'a.png'}: empty_file (zero-byte file)" in err
    assert f"error: none of the 1 image file(s) in {tmp_path / 'bad'} could be read" in err
    (tmp_path / "none").mkdir()
    code, _, err = run(capsys, "predict", model_file, str(tmp_path / "none"))
    assert code == 3
    assert f"error: no image files in {tmp_path / 'none'}" in err


def test_predict_needs_a_saved_model(photos, capsys):
    code, _, err = run(capsys, "predict", "tutorial-mnist", str(photos[0]))
    assert code == 7
    assert "model tutorial-mnist does not exist" in err


@pytest.mark.parametrize("top_k", ["0", "three"])
def test_bad_top_k_is_a_usage_error(top_k, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["predict", "m.keras", "x.png", "--top-k", top_k])
    assert done.value.code == 2
    assert "is not a number of classes" in capsys.readouterr().err


# summary ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, total", [
    (["tutorial-mnist", "--input-shape", "28x28x1"], "225,034"),
    (["tutorial-cifar10", "--input-shape", "32x32x3"], "122,570"),
    (["tutorial-mnist", "--input-shape", "28x28x1", "--classes", "5"], "224,389"),
])
def test_summary_of_builtin_models(argv, total, capsys):
    code, out, _ = run(capsys, "summary", *argv)
    assert code == 0
    assert out.startswith('Model: "sequential')
    assert f" Total params: {total} (" in out


def test_summary_of_a_spec_and_a_saved_model(model_file, tmp_path, capsys):
    spec = tmp_path / "cnn.yaml"
    spec.write_text("input_shape: [28, 28, 1]\nlayers:\n  - Conv2D: {filters: 8, kernel_size: 3, "
                    "activation: relu}\n  - MaxPooling2D: 2\n  - Flatten\n"
                    "  - Dense: {units: auto, activation: softmax}\n")
    for model in (str(spec), model_file):
        code, out, _ = run(capsys, "summary", model)
        assert code == 0
        assert f" Total params: {TINY_PARAMS:,} (" in out
        assert "│ dense" in out and "(None, 10)" in out


def test_summary_errors_say_what_to_do(model_file, capsys):
    code, _, err = run(capsys, "summary", "small-cnn")
    assert code == 5
    assert "needs an input shape" in err and "--input-shape 28x28x1" in err
    code, _, err = run(capsys, "summary", "smal-cnn", "--input-shape", "32x32x3")
    assert code == 2
    assert "did you mean 'small-cnn'?" in err
    code, _, err = run(capsys, "summary", model_file, "--input-shape", "32x32x3")
    assert code == 5
    assert "was trained on 28x28x1 images with 10 classes" in err
    with pytest.raises(SystemExit) as done:
        cli.main(["summary", "small-cnn", "--input-shape", "32x32"])
    assert done.value.code == 2


def test_a_reader_that_goes_away_is_not_a_bug(tmp_path):
    script = Path(sys.executable).parent / "cnnkit"
    if not script.exists():
        pytest.skip(f"{script} is not installed: run pip install -e . first")
    spec = tmp_path / "one.yaml"
    spec.write_text("- Flatten\n")  # a summary far shorter than the stdout buffer
    process = subprocess.Popen([str(script), "summary", str(spec), "--input-shape", "4x4x1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `| head` quitting, before cnnkit (still importing) writes
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (141, b"")


@pytest.mark.parametrize("flag, compiles", [("--compile", 1), ("--no-compile", 0), (None, 0)])
def test_compile_flag_reaches_predict(model_file, photos, capsys, monkeypatch, flag, compiles):
    import torch

    from cnnkit.models import inference

    calls = []
    monkeypatch.setattr(torch, "compile", lambda module, **_: calls.append(1) or module)
    monkeypatch.setattr(inference, "COMPILE_MIN_BATCH", 3)
    root, paths = photos
    code, out, _ = run(capsys, "predict", model_file, str(root), "--batch-size", "3",
                       *([flag] if flag else []))
    assert code == 0 and len(out.splitlines()) == len(paths)
    assert len(calls) == compiles
