"""The zoo on the command line: ``cnnkit models``, ``train --model resnet18``, ``summary``
and ``explain params`` of a famous architecture, and the errors for an unknown name or an
image too small for the network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from conftest import CIFAR10_CLASSES

from cnnkit import cli, zoo
from cnnkit.models import ModuleModel, load_model

RESNET50_IMAGENET_PARAMS = 25_557_032  # torchvision's resnet50, 1,000 classes


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_rows(out: str) -> dict[str, list[str]]:
    """``cnnkit models``' rows by name: the cells split on runs of 2+ spaces."""
    lines = out.strip().splitlines()[1:]
    return {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines)}


def test_models_lists_every_name_with_its_built_parameter_count(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0
    rows = table_rows(out)
    assert sorted(rows) == sorted(zoo.names())
    for name, entry in zoo.NETWORKS.items():
        classes = number(rows[name][4])
        with torch.device("meta"):
            module = entry.build(num_classes=classes)
        assert number(rows[name][2]) == sum(p.numel() for p in module.parameters()), name
        assert rows[name][3] == f"{entry.input_size}x{entry.input_size}x{entry.channels}"
    tutorial = zoo.get("tutorial-mnist")
    assert number(rows["tutorial-mnist"][2]) == tutorial.count_params()
    assert number(rows["resnet50"][2]) == RESNET50_IMAGENET_PARAMS


def test_models_filter_and_no_match(capsys):
    code, out, _ = run(capsys, "models", "mobilenet")
    assert code == 0
    assert sorted(table_rows(out)) == ["mobilenet-v2", "mobilenet-v3-large",
                                       "mobilenet-v3-small"]
    code, out, _ = run(capsys, "models", "InceptionV3")  # Keras's spelling, in "also called"
    assert list(table_rows(out)) == ["inception-v3"]
    code, out, _ = run(capsys, "models", "nosuchnet")
    assert code == 1 and "no built-in architecture matches 'nosuchnet'" in out


@pytest.mark.parametrize("spelling, name", [
    ("resnet50", "resnet50"), ("ResNet-50", "resnet50"), ("ResNet50", "resnet50"),
    ("mobilenet_v3_small", "mobilenet-v3-small"), ("MobileNetV3Small", "mobilenet-v3-small"),
    ("squeezenet1_1", "squeezenet1-1"), ("EfficientNetB0", "efficientnet-b0"),
    ("regnet_y_400mf", "regnet-y-400mf"), ("RegNetY004", "regnet-y-400mf"),
    ("Tutorial_MNIST", "tutorial-mnist"), ("resnet50x", None), ("", None)])
def test_find_takes_every_spelling(spelling, name):
    assert zoo.find(spelling) == name


def test_train_help_names_the_architectures(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "resnet18" in out and "mobilenet-v2" in out and "'cnnkit models' lists them" in out


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


@pytest.fixture()
def cifar_folder(cifar_sample, tmp_path) -> Path:
    """Real CIFAR-10 JPEGs of three classes, 4 per class, as ``root/class/N.jpg``."""
    root = tmp_path / "cifar"
    for name in CIFAR10_CLASSES[:3]:
        for index, data in enumerate(cifar_sample["train"][name]):
            path = root / name / f"{index}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return root


@pytest.mark.slow
def test_train_resnet18_end_to_end(cifar_folder, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, _ = run(capsys, "train", str(cifar_folder), "--model", "resnet18", "--epochs",
                       "1", "--batch-size", "3", "--val-split", "0.25", "--threads", "1",
                       "--precision", "fp32", "--out", str(out_dir), "--quiet")
    assert code == 0, out
    model = load_model(out_dir / "model" / "last")
    assert isinstance(model, ModuleModel) and model.entry.name == "resnet18"
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 3)
    assert model.class_names == CIFAR10_CLASSES[:3]
    assert (out_dir / "history.csv").read_text().count("\n") == 2  # header + epoch 1


def test_unknown_model_suggests_and_writes_nothing(cifar_folder, tmp_path, capsys,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    code, _, err = run(capsys, "train", str(cifar_folder), "--model", "resnet50x",
                       "--out", str(work / "run"))
    assert code == 2
    assert "unknown model 'resnet50x'" in err and "did you mean 'resnet50'?" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar"]  # no run dir, no cache


def test_too_small_images_name_the_image_size_flag(cifar_folder, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, _, err = run(capsys, "train", str(cifar_folder), "--model", "alexnet",
                       "--out", str(out_dir))
    assert code == 5
    assert "alexnet takes images (H, W, C) of at least 63x63" in err
    assert "(32, 32, 3)" in err and "--image-size 63 or more" in err
    assert not out_dir.exists()


def test_summary_of_resnet50_prints_its_table(capsys):
    code, out, _ = run(capsys, "summary", "resnet50", "--input-shape", "224x224x3")
    assert code == 0
    assert "layer4 (Sequential)" in out and "(None, 7, 7, 2048)" in out
    assert "│ fc (Linear)" in out and "(None, 10)" in out
    trainable = RESNET50_IMAGENET_PARAMS - (2048 + 1) * 990  # a 10-class head
    assert f" Trainable params: {trainable:,} (" in out


def test_explain_params_of_resnet50_at_its_default_size(capsys):
    code, out, _ = run(capsys, "explain", "params", "resnet50")
    assert code == 0
    rows = table_rows(out.split("\n\n")[0])
    assert rows["conv1 (Conv2d)"][1:4] == ["224x224x3", "112x112x64", "9,408"]
    assert rows["layer4 (Sequential)"][1:3] == ["14x14x1024", "7x7x2048"]
    assert rows["fc (Linear)"][1:5] == ["2048", "10", "20,490", "20,490"]
    assert rows["relu (ReLU)"][3:5] == ["0", "-"]
    model = zoo.get("resnet50", None, 10)
    assert f"this model: {model.count_params():,} parameters" in out
