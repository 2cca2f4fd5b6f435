"""Precision settings: "auto" is bf16 autocast only where the CPU computes bf16 natively."""

import pytest

from cnnkit.errors import ConfigError
from cnnkit.train import precision
from cnnkit.train.config import RunConfig
from cnnkit.train.loop import Task, Trainer
from tiny_model import trained_model


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_follows_the_cpu(monkeypatch, native, expected):
    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    assert precision.resolve_precision("auto") == (expected, None)
    assert precision.autocast_precision("auto") == expected
    model = trained_model()
    assert model.precision == "auto"
    trainer = Trainer(model, Task(model.loss, model.metrics, True), model.precision,
                      cores=1)
    assert trainer.precision == expected


def test_bf16_without_native_support_falls_back_with_a_notice(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    used, notice = precision.resolve_precision("bf16")
    assert used == "fp32" and "no native bf16" in notice
    assert precision.autocast_precision("bf16") == "bf16"  # set on a model: as given


def test_native_bf16_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert precision.native_bf16()
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f"})
    assert not precision.native_bf16()


def test_run_config_default_and_bad_value():
    assert RunConfig().precision == "auto"
    with pytest.raises(ConfigError, match="precision must be auto, fp32 or bf16"):
        RunConfig(data="fashion-mnist-mini", model="tutorial-mnist", precision="fp16").validate()
