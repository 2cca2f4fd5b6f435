"""``cnnkit train`` writes a complete run directory and explains bad setups."""

from __future__ import annotations

import csv
import json

import pytest

from bad_tree import build_bad_tree
from cnnkit.cli import main
from cnnkit.models import load_model
from train_helpers import write_spec


def _train(tmp_path, *extra: str) -> int:
    spec = write_spec(tmp_path)
    return main(["train", "--data", "fashion-mnist-mini", "--model", str(spec), "--epochs", "2",
                 "--fraction", "0.2", "--quiet", *extra])


def test_a_run_directory_holds_every_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _train(tmp_path) == 0
    run = tmp_path / "runs" / "tiny-fashion-mnist-mini"
    names = {p.name for p in run.iterdir()}
    assert {"config.yaml", "history.csv", "log.txt", "model", "checkpoint",
            "metrics.json"} <= names
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_seconds",
            "images_per_second", "data_wait_seconds"} <= set(rows[0])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_images"] == 200 and 0.1 < metrics["test_accuracy"] <= 1.0  # 0.2 of 1000
    best, last = load_model(run / "model" / "best"), load_model(run / "model" / "last")
    assert best.class_names == last.class_names and len(best.class_names) == 10
    assert (run / "checkpoint" / "last.ckpt").is_file()
    assert "test accuracy" in (run / "log.txt").read_text()


def test_an_existing_run_directory_is_never_overwritten_silently(tmp_path):
    out = tmp_path / "myrun"
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    assert _train(tmp_path, "--out", str(out), "--epochs", "1") == 0
    assert (tmp_path / "myrun-2" / "config.yaml").exists()
    first = (out / "history.csv").read_text()
    assert _train(tmp_path, "--out", str(out), "--epochs", "1", "--overwrite", "--seed",
                  "9") == 0
    assert (out / "history.csv").read_text() != first
    assert not (tmp_path / "myrun-3").exists()


def test_config_file_values_and_flags_override_them(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(f"data: fashion-mnist-mini\nmodel: {write_spec(tmp_path)}\nepochs: 3\n"
                      f"fraction: 0.1\nout: {tmp_path / 'c'}\n")
    assert main(["train", "--config", str(config), "--epochs", "1", "--quiet"]) == 0
    with open(tmp_path / "c" / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 1


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--data", "no/such/folder"], 3, "does not exist"),
    (["--model", "tutorial-mnsit"], 2, "did you mean 'tutorial-mnist'"),
])
def test_mistakes_get_a_message_and_an_exit_code(tmp_path, capsys, args, code, message):
    base = {"--data": "fashion-mnist-mini", "--model": "tutorial-mnist"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["train", *[x for kv in base.items() for x in kv], "--epochs", "1", "--quiet",
            "--out", str(tmp_path / "r")]
    assert main(argv) == code
    assert message in capsys.readouterr().err


def test_images_too_small_for_the_model_explain_themselves(tmp_path, capsys):
    assert main(["train", "--data", "fashion-mnist-mini", "--model", "tutorial-cifar10",
                 "--image-size", "12", "--quiet", "--out", str(tmp_path / "r")]) == 5
    err = capsys.readouterr().err
    assert "do not fit model 'tutorial-cifar10'" in err and "--image-size" in err


def test_training_on_a_folder_with_broken_images_skips_and_reports_them(tmp_path):
    data = build_bad_tree(tmp_path / "bad")
    out = tmp_path / "r"
    assert main(["train", "--data", str(data), "--model", "small-cnn", "--epochs", "1",
                 "--val-split", "0", "--image-size", "32", "--quiet", "--out", str(out)]) == 0
    log = (out / "log.txt").read_text()
    assert "skipped" in log and "corrupt" in log and "symlink_loop" in log
    assert load_model(out / "model" / "last").class_names == ["plane", "zero"]


def test_training_continues_from_a_saved_model(tmp_path):
    first = tmp_path / "first"
    assert _train(tmp_path, "--out", str(first), "--epochs", "1") == 0
    second = tmp_path / "second"
    assert main(["train", "--data", "fashion-mnist-mini", "--model",
                 str(first / "model" / "last"), "--epochs", "1", "--fraction", "0.2",
                 "--quiet", "--out", str(second)]) == 0
    before = json.loads((first / "metrics.json").read_text())["test_loss"]
    after = json.loads((second / "metrics.json").read_text())["test_loss"]
    assert after < before  # the second run started from the first run's weights


def test_demo_trains_on_the_embedded_data_and_writes_its_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    accuracy = float(printed.split("test accuracy:")[1].split()[0])
    assert 0.5 < accuracy <= 1.0  # one epoch on 4,500 real images: well above chance (0.1)
    assert (out / "report.html").is_file() and (out / "model" / "best").is_dir()
