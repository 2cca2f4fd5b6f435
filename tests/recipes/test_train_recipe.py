"""``cnnkit train --recipe`` and ``cnnkit recipes`` on real images (fashion-mnist-mini)."""

from __future__ import annotations

import json

import yaml

from cnnkit import cli, recipes


def test_recipes_lists_every_recipe(capsys):
    assert cli.main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name in recipes.names():
        recipe = recipes.get(name)
        assert name in out and recipe.summary in out
        assert all(p.who in out for p in recipe.published)


def test_an_unknown_recipe_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--recipe", "fashion-mnist-fats"]) == 2
    assert "did you mean 'fashion-mnist-fast'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_recipe_on_other_data_with_a_flag_overriding_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "fashion-mnist-mini", "--recipe", "fashion-mnist-fast",
                     "--epochs", "1", "--out", str(out), "-q"]) == 0
    recipe = recipes.get("fashion-mnist-fast")
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["recipe"] == "fashion-mnist-fast" and config["epochs"] == 1
    assert (config["batch_size"], config["schedule"], config["augment"], config["tta"]) == (
        recipe.batch_size, recipe.schedule, recipe.augment, recipe.tta)
    log = (out / "log.txt").read_text()
    assert f"--epochs 1 overrides the recipe's {recipe.epochs}" in log
    assert "was tuned on fashion-mnist at 28x28 px" in log and "10 classes" in log
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tta"] == "flip" and 0.0 <= metrics["test_accuracy_without_tta"] <= 1.0
    assert metrics["test_accuracy"] > 0.5  # one epoch on 5,000 real images learns something
    report = (out / "report.html").read_text()
    assert "recipe fashion-mnist-fast" in report and "was tuned on fashion-mnist" in report
