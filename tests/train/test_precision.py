"""Precision: fp32 for Keras code as in Keras, bf16 autocast by policy or where the CLI's
``auto`` finds native bf16, and ``CNNKIT_PRECISION`` as the process-wide default."""

import numpy as np
import pytest
import torch
import yaml

from cnnkit.cli import main
from cnnkit.data import load
from cnnkit.errors import ConfigError
from cnnkit.keras import layers, mixed_precision, models
from cnnkit.kernels.fused import carries
from cnnkit.train import precision
from cnnkit.train.checkpoint import read_checkpoint
from cnnkit.train.config import RunConfig
from cnnkit.train.loop import Task, Trainer
from tiny_model import trained_model
from train_helpers import write_spec


@pytest.fixture
def no_environment(monkeypatch):
    """The tests below set CNNKIT_PRECISION themselves."""
    monkeypatch.delenv(precision.ENVIRONMENT_VARIABLE, raising=False)


@pytest.fixture
def native(monkeypatch, no_environment):
    """A CPU that computes bf16 natively (AMX / AVX512-BF16)."""
    monkeypatch.setattr(precision, "native_bf16", lambda: True)


@pytest.mark.parametrize("has_native, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_follows_the_cpu(monkeypatch, no_environment, has_native, expected):
    monkeypatch.setattr(precision, "native_bf16", lambda: has_native)
    assert precision.resolve_precision("auto") == (expected, None)
    model = trained_model()
    trainer = Trainer(model, Task(model.loss, model.metrics, True), "auto", threads=1)
    assert trainer.precision == expected


def test_bf16_without_native_support_is_emulated_with_a_notice(monkeypatch, no_environment):
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    used, notice = precision.resolve_precision("bf16")
    assert used == "bf16" and "no native bf16" in notice and "emulated" in notice
    monkeypatch.setattr(precision, "native_bf16", lambda: True)
    assert precision.resolve_precision("bf16") == ("bf16", None)


@pytest.mark.parametrize("value, has_native, expected", [
    ("fp32", True, "fp32"), ("bf16", False, "bf16"), ("auto", True, "bf16"),
    ("", False, "fp32"), (" BF16 ", True, "bf16")])
def test_the_environment_sets_what_auto_means(monkeypatch, value, has_native, expected):
    monkeypatch.setenv(precision.ENVIRONMENT_VARIABLE, value)
    monkeypatch.setattr(precision, "native_bf16", lambda: has_native)
    assert precision.resolve_precision("auto")[0] == expected
    assert precision.resolve_precision("fp32")[0] == "fp32"  # an explicit setting wins


def test_a_bad_environment_value_is_named_and_ignored(monkeypatch):
    monkeypatch.setenv(precision.ENVIRONMENT_VARIABLE, "fp16")
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    with pytest.warns(UserWarning, match="CNNKIT_PRECISION='fp16' is not a precision"):
        assert precision.resolve_precision("auto")[0] == "fp32"
    assert precision.resolve_precision("bf16")[0] == "bf16"  # an explicit setting still works


def test_native_bf16_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert precision.native_bf16()
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f"})
    assert not precision.native_bf16()


def test_run_config_default_and_bad_value():
    assert RunConfig().precision == "auto"
    with pytest.raises(ConfigError, match="precision must be auto, fp32, bf16 or fp16"):
        RunConfig(data="fashion-mnist-mini", model="tutorial-mnist", precision="fp8").validate()


def test_fp16_is_refused_off_cuda():
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        RunConfig(data="fashion-mnist-mini", model="tutorial-mnist", precision="fp16",
                  device="cpu").validate()


def tutorial_model():
    """The Keras MNIST tutorial CNN, written as the tutorial writes it."""
    return models.Sequential([
        layers.Conv2D(16, 3, activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])


def training_dtypes(model) -> set[torch.dtype]:
    """The dtypes the Dense layer computed in while ``model`` trained one small epoch on
    real Fashion-MNIST images."""
    train = load("fashion-mnist-mini", split="train", progress=False)
    seen: set[torch.dtype] = set()
    dense = model.net.ops[model.layers[-1].name]
    handle = dense.register_forward_hook(lambda module, args, out: seen.add(out.dtype))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = np.asarray(train.images[:96], dtype=np.float32) / 255.0
    model.fit(x, train.labels[:96], epochs=1, batch_size=32, verbose=0)
    handle.remove()
    return seen


def test_keras_code_trains_in_fp32_on_a_cpu_with_native_bf16(native):
    assert precision.resolve_precision("auto")[0] == "bf16"  # what the CLI would pick
    assert training_dtypes(tutorial_model()) == {torch.float32}


def test_the_mixed_bfloat16_policy_opts_in_and_float32_back_out(native):
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert mixed_precision.global_policy().compute_dtype == "bfloat16"
    assert training_dtypes(tutorial_model()) == {torch.bfloat16}
    mixed_precision.set_global_policy(mixed_precision.Policy("float32"))
    assert training_dtypes(tutorial_model()) == {torch.float32}


def test_cnnkit_precision_bf16_sets_the_keras_default(monkeypatch):
    monkeypatch.setenv(precision.ENVIRONMENT_VARIABLE, "bf16")
    assert mixed_precision.global_policy().name == "mixed_bfloat16"
    assert training_dtypes(tutorial_model()) == {torch.bfloat16}
    monkeypatch.setenv(precision.ENVIRONMENT_VARIABLE, "auto")
    assert mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("policy, hint", [("mixed_float16", "GPU format"),
                                          ("bfloat16", "weights in float32"),
                                          ("float64", "float32")])
def test_unsupported_policies_are_refused_with_a_hint(policy, hint):
    with pytest.raises(ConfigError, match=policy) as error:
        mixed_precision.set_global_policy(policy)
    assert hint in error.value.hint
    assert mixed_precision.global_policy().name in precision.POLICIES


def test_the_cli_picks_bf16_with_native_bf16_and_records_it(native, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "fashion-mnist-mini", "--model", str(write_spec(tmp_path)),
                 "--epochs", "1", "--fraction", "0.05", "--out", str(out)]) == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["precision"] == "bf16"
    assert ", bf16, " in (out / "log.txt").read_text()
    assert "precision: bf16" in (out / "report.html").read_text()
    assert read_checkpoint(out / "checkpoint" / "last.ckpt")["precision"] == "bf16"


def kernel_cnn(batch_norm: bool = False):
    """A plain CNN whose 16-filter conv-pool layers the fp32 kernels run; with a
    BatchNormalization after the convolution, they cannot."""
    return models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation=None if batch_norm else "relu"),
        *([layers.BatchNormalization(), layers.ReLU()] if batch_norm else []),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])


def test_auto_keeps_kernel_networks_in_fp32_even_with_native_bf16(native):
    plain, normalised = kernel_cnn().net, kernel_cnn(batch_norm=True).net
    if not carries(plain):
        pytest.skip("the fp32 kernels cannot be built here (no C++ compiler, or turned off)")
    assert plain.fused  # the kernels run its first layer
    assert precision.faster_in_fp32(plain) and not precision.faster_in_fp32(normalised)
    assert precision.resolve_precision("auto", plain)[0] == "fp32"
    assert precision.resolve_precision("auto", normalised)[0] == "bf16"
    assert precision.resolve_precision("bf16", plain)[0] == "bf16"  # asked for: given


def test_auto_without_native_bf16_is_fp32_for_every_network(monkeypatch, no_environment):
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    for net in (kernel_cnn().net, kernel_cnn(batch_norm=True).net):
        assert precision.resolve_precision("auto", net)[0] == "fp32"


def test_the_cli_trains_the_tutorial_cnn_in_fp32_with_native_bf16(native, tmp_path):
    if not carries(kernel_cnn().net):
        pytest.skip("the fp32 kernels cannot be built here (no C++ compiler, or turned off)")
    out = tmp_path / "run"
    assert main(["train", "--data", "fashion-mnist-mini", "--model", "tutorial-mnist",
                 "--epochs", "1", "--fraction", "0.05", "--out", str(out), "--quiet"]) == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["precision"] == "fp32"
    assert ", fp32, " in (out / "log.txt").read_text()
