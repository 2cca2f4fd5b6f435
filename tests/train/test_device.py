"""``--device`` and ``fit(device=...)``: a device this machine lacks is a clear error before
any work; the CPU path trains; the CUDA path runs where a GPU exists (skipped here)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from cnnkit import layers as L
from cnnkit.data import load
from cnnkit.errors import ConfigError
from cnnkit.models import Sequential
from cnnkit.seeding import set_seed
from cnnkit.train.device import mps_available, resolve_device

NO_CUDA = "no CUDA GPU on this machine (torch.cuda.is_available() is False)"


def untrained_model() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """A small CNN (seeded) and 320 real fashion-mnist-mini training images with labels."""
    train = load("fashion-mnist-mini", split="train", progress=False)
    set_seed(0)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"),
                        L.MaxPooling2D(2), L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, np.array(train.images[:320]), np.array(train.labels[:320])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_a_clear_error_with_a_hint():
    with pytest.raises(ConfigError, match="no CUDA GPU here") as info:
        resolve_device("cuda")
    assert "--device cpu" in info.value.hint


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cnnkit_train_device_cuda_exits_2_before_reading_data(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", str(tmp_path / "nothing"),
                           "--device", "cuda"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "error: --device cuda: no CUDA GPU here" in done.stderr
    assert "hint:" in done.stderr and "Traceback" not in done.stderr


def test_auto_picks_a_gpu_only_where_there_is_one():
    expected = "cuda" if torch.cuda.is_available() else ("mps" if mps_available() else "cpu")
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_fit_on_the_cpu_device_trains_and_keeps_the_weights_on_the_cpu():
    model, images, labels = untrained_model()
    before = [p.detach().clone() for p in model.net.parameters()]
    model.fit(images, labels, epochs=1, batch_size=32, verbose=0, device="cpu")
    after = list(model.net.parameters())
    assert all(p.device.type == "cpu" for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_fit_on_cuda_matches_the_cpu_to_float_rounding():
    cpu_model, images, labels = untrained_model()
    gpu_model, _, _ = untrained_model()
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        torch.manual_seed(0)
        model.fit(images, labels, epochs=1, batch_size=32, verbose=0, shuffle=False,
                  device=device)
    for a, b in zip(cpu_model.net.parameters(), gpu_model.net.parameters(), strict=True):
        assert np.allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-4)
