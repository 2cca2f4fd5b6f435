"""The kernel probe (kernels/probe.py): a layer runs on its kernel only where the kernel
measured faster than torch's ops here, and the decision is remembered."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from cnnkit import data, zoo
from cnnkit import layers as L
from cnnkit.kernels import build, conv_pool_relu, fused, probe, winograd
from cnnkit.models import Sequential
from cnnkit.models.preprocess import Preprocess, to_tensor
from cnnkit.seeding import set_seed
from fit_threads import fit_on_threads

SLOW_SECONDS = 0.05  # far above either way's time for one 32-image layer call


@pytest.fixture
def probing(tmp_path, monkeypatch):
    """The kernels left to the probe, with an empty decision cache."""
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(build.KERNELS_ENV)
    monkeypatch.setattr(probe, "_decisions", {})
    monkeypatch.setattr(probe, "_declined", set())
    monkeypatch.setattr(probe, "MIN_LANES", 0)  # the probe on any build (make test's SSE4.2)
    probe.new_decisions()  # forget what earlier tests decided
    return tmp_path


@pytest.fixture(scope="module")
def fashion():
    dataset = data.load("fashion-mnist-mini")
    return dataset.images[:96], dataset.labels[:96]


def counted_and_slowed(monkeypatch, module, name: str, calls: list, delay: float):
    """Replace ``module.name`` (a kernel's entry point) by one that counts its calls and,
    with a delay, is made slow."""
    kernel = getattr(module, name)

    def slowed(*args):
        calls.append(name)
        time.sleep(delay)
        return kernel(*args)

    monkeypatch.setattr(module, name, slowed)


def trained_weights(fashion) -> list[np.ndarray]:
    """The MNIST tutorial CNN after one seeded fp32 epoch at batch 32 on real images."""
    set_seed(0)
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.precision = "fp32"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fit_on_threads(model, *fashion, batch_size=32, epochs=1, shuffle=False, verbose=0,
                   threads=1)
    return model.get_weights()


def test_a_slow_kernel_loses_the_probe_and_training_runs_on_torchs_ops(probing, monkeypatch,
                                                                       fashion):
    calls: list[str] = []
    counted_and_slowed(monkeypatch, conv_pool_relu, "conv_pool_relu", calls, SLOW_SECONDS)
    counted_and_slowed(monkeypatch, winograd, "winograd_pool_relu", calls, SLOW_SECONDS)
    probed = trained_weights(fashion)
    lines = probe.new_decisions()
    assert len(lines) == 2 and all("using torch's ops" in line for line in lines), lines
    assert len(calls) == 2 * (1 + probe.ROUNDS)  # each kernel: its probe, then never again
    monkeypatch.setenv(build.KERNELS_ENV, "0")
    off = trained_weights(fashion)
    for a, b in zip(probed, off, strict=True):
        np.testing.assert_array_equal(a, b)  # the very same torch ops, so the same numbers


def test_a_fast_kernel_wins_and_the_decision_is_kept_on_disk(probing, monkeypatch, fashion):
    calls: list[str] = []
    counted_and_slowed(monkeypatch, conv_pool_relu, "conv_pool_relu", calls, 0.0)
    run_faster = probe.run_faster

    def torch_ops_made_slow(name, kernel, reference, modules, x):
        def slowed(xi):
            time.sleep(SLOW_SECONDS)
            return reference(xi)
        return run_faster(name, kernel, slowed, modules, x)

    monkeypatch.setattr(fused, "run_faster", torch_ops_made_slow)
    trained_weights(fashion)
    lines = probe.new_decisions()
    assert any(line.startswith("kernel probe: conv_pool_relu") and "using the kernel" in line
               for line in lines), lines
    assert len(calls) == 1 + probe.ROUNDS + 96 // 32  # the probe, then every training step
    monkeypatch.setattr(probe, "_decisions", {})  # as a new process: read back from the file
    trained_weights(fashion)
    assert probe.new_decisions() == []  # nothing probed again
    on_disk = (probing / "cache" / "kernels" / "conv_pool_relu-choices.json").read_text()
    assert "batch 32" in on_disk and "training" in on_disk


def test_each_pass_is_probed_and_the_probe_leaves_the_gradients_alone(probing, monkeypatch,
                                                                       fashion):
    set_seed(0)
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.build()
    model.predict(fashion[0][:32], verbose=0)  # the inference pass
    model.net.train()
    batch = to_tensor(fashion[0][:32].copy(), Preprocess())

    def weight_gradients():
        model.net.zero_grad(set_to_none=True)
        model.net(batch).square().sum().backward()
        return [p.grad.clone() for p in model.net.parameters()]

    probed = weight_gradients()  # the training pass, probed on its way
    passes = {line.split(", ")[-2].split(":")[0] for line in probe.new_decisions()}
    assert {"training", "inference"} <= passes
    monkeypatch.setenv(build.KERNELS_ENV, "0")
    for a, b in zip(probed, weight_gradients(), strict=True):  # not doubled, not lost
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))


def test_forced_on_skips_the_probe(probing, monkeypatch, fashion):
    monkeypatch.setenv(build.KERNELS_ENV, "1")
    calls: list[str] = []
    counted_and_slowed(monkeypatch, conv_pool_relu, "conv_pool_relu", calls, 0.0)
    trained_weights(fashion)
    assert probe.new_decisions() == []
    assert len(calls) == 96 // 32


def test_a_pooled_and_an_unpooled_layer_of_one_shape_are_decided_apart(probing, fashion):
    set_seed(0)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(16, 3, padding="same"),
                        L.Conv2D(16, 3, padding="same", activation="relu"),
                        L.Conv2D(16, 3, padding="same", activation="relu"),
                        L.MaxPooling2D(2), L.Flatten(), L.Dense(10)])
    model.predict(fashion[0][:32], verbose=0)
    winograd_lines = [line for line in probe.new_decisions() if "winograd" in line]
    assert len(winograd_lines) == 2, winograd_lines
    assert {"ReLU" in line for line in winograd_lines} == {True, False}
    assert sum("MaxPool2d" in line for line in winograd_lines) == 1


@pytest.mark.parametrize("setting", ["off", "bf16", "deterministic"])
def test_calls_that_never_use_a_probe_are_not_probed_again(probing, monkeypatch, fashion,
                                                           setting):
    probes = []
    real = probe._probe
    monkeypatch.setattr(probe, "_probe", lambda *args: probes.append(1) or real(*args))
    if setting == "off":
        monkeypatch.setenv(build.KERNELS_ENV, "0")
    if setting == "deterministic":
        monkeypatch.setattr(torch, "are_deterministic_algorithms_enabled", lambda: True)
    set_seed(0)
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.precision = "bf16" if setting == "bf16" else "fp32"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fit_on_threads(model, *fashion, batch_size=32, epochs=1, verbose=0, threads=1)
    fused_layers = 2
    # bf16: one probe per layer finds the kernel turning autocast away, then none
    assert len(probes) == (fused_layers if setting == "bf16" else 0)
    assert probe.new_decisions() == []


def test_training_on_two_cores_probes_the_shares_calls(probing, fashion):
    set_seed(0)
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.precision = "fp32"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        history = fit_on_threads(model, *fashion, batch_size=64, epochs=1, verbose=0,
                                 threads=2)
    finally:
        torch.set_num_threads(before)
    assert np.isfinite(history.history["loss"][0])
    lines = probe.new_decisions()
    assert lines and all("threads 1" in line for line in lines), lines  # one per share thread


def test_a_layer_seen_first_with_a_hook_still_gets_its_kernel_later(probing, fashion):
    set_seed(0)
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.build()
    conv = next(m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d))
    handle = conv.register_forward_hook(lambda *args: None)  # as explain's feature maps do
    model.predict(fashion[0][:32], verbose=0)
    assert not any("conv_pool_relu" in line for line in probe.new_decisions())
    handle.remove()
    model.predict(fashion[0][:32], verbose=0)
    assert any("conv_pool_relu" in line for line in probe.new_decisions())


def test_a_16_byte_build_is_used_only_when_asked_for(probing, monkeypatch, fashion):
    monkeypatch.setattr(probe, "MIN_LANES", 32)  # as a build narrower than needed
    calls: list[str] = []
    counted_and_slowed(monkeypatch, conv_pool_relu, "conv_pool_relu", calls, 0.0)
    trained_weights(fashion)
    assert calls == [] and probe.new_decisions() == []
    monkeypatch.setenv(build.KERNELS_ENV, "1")
    trained_weights(fashion)
    assert len(calls) == 96 // 32


def test_each_build_says_its_vector_width():
    library = build.load_kernel("winograd")
    assert library is not None and library.cnnkit_vector_lanes() in (4, 8, 16)
