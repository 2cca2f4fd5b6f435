"""Out-of-range training settings are refused before anything runs: on the command line
(an argparse usage error, exit 2), in ``--config`` files and in the Keras optimizers."""

from __future__ import annotations

import pytest
from test_validation_split import fashion_arrays, tiny_model

from cnnkit import cli
from cnnkit.errors import ConfigError
from cnnkit.keras import optimizers
from cnnkit.train.bounds import SETTINGS
from cnnkit.train.config import RunConfig

BAD_FLAGS = [("--clip-norm", "-1"), ("--clip-norm", "0"), ("--lr", "-0.01"), ("--lr", "nan"),
             ("--epochs", "0"), ("--epochs", "2.5"), ("--batch-size", "-32"),
             ("--label-smoothing", "1"), ("--val-split", "1.5"), ("--val-split", "-0.1"),
             ("--fraction", "0"), ("--momentum", "1.5"), ("--weight-decay", "-1e-4"),
             ("--early-stopping", "-3"), ("--threads", "0"), ("--checkpoint-minutes", "0"),
             ("--checkpoint-steps", "0"), ("--clip-norm", "inf")]


@pytest.mark.parametrize(("flag", "value"), BAD_FLAGS)
def test_an_out_of_range_flag_is_a_usage_error(flag, value, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        cli.main(["train", "--data", "fashion-mnist-mini", "--model", "small-cnn",
                  f"{flag}={value}"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: " in err and ("must be" in err or "is not" in err)
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written


def test_every_bounded_setting_is_a_flag_checked_at_parse_time():
    parser = cli.build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices.items()
                 if a[0] == "train")[1]
    checked = {action.dest for action in train._actions
               if getattr(action.type, "__name__", "") == action.dest}
    assert set(SETTINGS) <= checked


def test_the_boundaries_themselves():
    ok = dict(data="fashion-mnist-mini", model="small-cnn")
    for settings in ({"val_split": 0.0}, {"fraction": 1.0}, {"momentum": 1.0},
                     {"label_smoothing": 0.0}, {"weight_decay": 0.0}, {"clip_norm": 1e-6}):
        RunConfig(**ok, **settings).validate()
    for settings in ({"val_split": 1.0}, {"fraction": 0.0}, {"clip_norm": -1.0},
                     {"epochs": True}, {"epochs": None}, {"batch_size": "32"}):
        with pytest.raises(ConfigError):
            RunConfig(**ok, **settings).validate()


def test_a_config_file_with_a_negative_clip_norm_is_refused(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("data: fashion-mnist-mini\nmodel: small-cnn\nclip_norm: -1\n")
    assert cli.main(["train", "--config", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "clip norm must be a number greater than 0, got -1" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("arguments", [{"clipnorm": -1.0}, {"clipnorm": 0.0},
                                       {"global_clipnorm": -2.0}, {"clipvalue": float("nan")},
                                       {"clipnorm": 1.0, "clipvalue": 0.5}])
def test_keras_optimizers_refuse_clipping_that_cannot_work(arguments):
    with pytest.raises(ConfigError, match="clip"):
        optimizers.Adam(**arguments)


def test_sgd_momentum_outside_0_1_is_refused_as_in_keras():
    with pytest.raises(ConfigError, match="momentum must be a number in \\[0, 1\\]"):
        optimizers.SGD(momentum=1.5)
    assert optimizers.SGD(momentum=0.9).options["momentum"] == 0.9
    assert optimizers.Adam(clipnorm=1.0).clipnorm == 1.0


def test_fit_refuses_a_negative_batch_size():
    x, y, _ = fashion_arrays(64)
    with pytest.raises(ConfigError, match="batch_size must be an integer of at least 1, got -4"):
        tiny_model().fit(x, y, batch_size=-4, verbose=0)
