"""Every zoo network through cnnkit's own API on real CIFAR-10 images, and a saved zoo
model opened in a fresh process.

One network per family trains a few steps (``zoo.get`` + ``compile`` + ``fit``, the same
real batch each step) and its loss falls; VGG and AlexNet train their convolutional part
(``include_top=False, pooling="avg"`` under a Dense head), because building and stepping
their 100M-weight classifiers costs tens of seconds (their full forward pass is checked in
test_zoo_reference_a.py). Every other network takes one forward/backward step through
cnnkit's network (VGG's likewise headless): finite loss, a gradient on every weight. All
at the smallest side each network allows (32 px, CIFAR's own, where the network takes it),
batch 8 (2 for the single steps).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import CIFAR10_CLASSES, sample_arrays

from cnnkit import zoo
from cnnkit.keras.layers import Dense, Input
from cnnkit.keras.optimizers import Adam
from cnnkit.models import Sequential, load_model

# the cheapest member of each family; VGG and AlexNet without their classifier
TRAINED = ["lenet5", "alexnet", "vgg11", "resnet18", "resnet20", "googlenet", "inception-v3",
           "densenet121", "squeezenet1-1", "mobilenet-v2", "mobilenet-v3-small",
           "efficientnet-b0", "efficientnet-lite0", "regnet-y-400mf", "shufflenet-v2-x1-0",
           "convnext-tiny"]
HEADLESS = {name for name, entry in zoo.NETWORKS.items()
            if entry.family.lower() in ("vgg", "alexnet")}
STEPPED = [name for name in zoo.NETWORKS if name not in TRAINED]
BATCH = 8
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def cifar_batch(cifar_sample) -> tuple[np.ndarray, np.ndarray]:
    """Eight real CIFAR-10 training images (uint8 NHWC) of four classes, and labels."""
    images, labels = sample_arrays(cifar_sample["train"], CIFAR10_CLASSES[:4])
    order = np.random.default_rng(0).permutation(len(images))[:BATCH]
    return images[order], labels[order]


def images_for(name: str, images: np.ndarray) -> np.ndarray:
    """The images at the network's smallest side (CIFAR's 32 where it allows), its channels."""
    entry = zoo.NETWORKS[name]
    side = max(32, entry.min_input)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    if entry.channels == 1:
        x = x.mean(1, keepdim=True)
    if side != x.shape[-1]:
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def model_for(name: str, shape: tuple[int, ...]):
    """``zoo.get(name, shape, 10)``; VGG and AlexNet as their features under a Dense head."""
    if name not in HEADLESS:
        return zoo.get(name, shape, 10)
    base = zoo.get(name, shape, 10, include_top=False, pooling="avg")
    return Sequential([Input(shape), base, Dense(10, activation="softmax")])


def test_every_network_is_trained_or_stepped():
    assert set(TRAINED) <= set(zoo.NETWORKS)
    assert sorted(TRAINED + STEPPED) == sorted(zoo.NETWORKS)
    assert {zoo.NETWORKS[name].family for name in TRAINED} == \
        {entry.family for entry in zoo.NETWORKS.values()}


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINED)
def test_training_steps_lower_the_loss(name, cifar_batch):
    images, labels = cifar_batch
    x = images_for(name, images)
    torch.manual_seed(0)
    model = model_for(name, x.shape[1:])
    # Adam's default step; plain VGG (no batch norm) overshoots it on one batch
    rate = 1e-4 if name == "vgg11" else 1e-3
    model.compile(optimizer=Adam(learning_rate=rate), loss="sparse_categorical_crossentropy")
    model.precision = "fp32"
    losses = model.fit(x, labels, batch_size=BATCH, epochs=3, shuffle=False,
                       verbose=0).history["loss"]
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name", STEPPED)
def test_forward_backward_gives_every_weight_a_gradient(name, cifar_batch):
    images, labels = cifar_batch
    x = images_for(name, images[:2])
    torch.manual_seed(0)
    net = model_for(name, x.shape[1:]).net.train()
    probabilities = net(torch.from_numpy(x).permute(0, 3, 1, 2).float())
    loss = F.nll_loss(probabilities.log(), torch.from_numpy(labels[:2].astype(np.int64)))
    loss.backward()
    assert probabilities.shape == (2, 10) and torch.isfinite(loss)
    missing = [key for key, p in net.named_parameters() if p.grad is None or
               not torch.isfinite(p.grad).all()]
    assert not missing, missing[:5]


def test_saved_zoo_model_loads_in_a_fresh_process(cifar_batch, tmp_path):
    images, _ = cifar_batch
    torch.manual_seed(0)
    model = zoo.get("resnet20", (32, 32, 3), 10)
    path = tmp_path / "resnet20.keras"
    model.save(path)
    np.save(tmp_path / "images.npy", images)
    expected = model.predict(images, verbose=0)
    # a program that never imports cnnkit.zoo: load_model must find the network itself
    script = ("import sys, numpy as np\n"
              "from cnnkit.models import load_model\n"
              "assert 'cnnkit.zoo' not in sys.modules\n"
              f"model = load_model({str(path)!r})\n"
              f"np.save({str(tmp_path / 'out.npy')!r}, "
              f"model.predict(np.load({str(tmp_path / 'images.npy')!r}), verbose=0))\n")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    np.testing.assert_array_equal(load_model(path).predict(images, verbose=0), expected)
