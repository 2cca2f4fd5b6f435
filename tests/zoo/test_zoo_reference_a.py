"""The zoo's LeNet, AlexNet, VGG, ResNet, GoogLeNet, Inception v3, DenseNet and SqueezeNet
modules against torchvision's layouts in ``../shared/torchvision-reference/models.json``.

For each network: its parameter count equals the reference's (or the published count of a
network the reference lacks); a torchvision-format state dict of the reference's keys and
shapes, with random values, loads with ``strict=True``; the loaded network maps images at
its default size and at a small one to one row of logits each. ResNet-20 also trains a few
steps on a real CIFAR-10 slice. The large networks are built on the meta device and given
the random state dict by assignment, so no time goes into initialising 140M weights twice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import CIFAR10_CLASSES, SAMPLE_PER_CLASS, archive_sample, sample_arrays

from cnnkit.zoo import (
    alexnet,
    densenet,
    googlenet,
    inception,
    lenet,
    resnet,
    resnet_cifar,
    squeezenet,
    vgg,
)

REPO = Path(__file__).resolve().parents[2]
REFERENCE = (REPO / ".." / "shared" / "torchvision-reference" / "models.json").resolve()

NETWORKS = {name: entry for family in (lenet, alexnet, vgg, resnet, resnet_cifar, googlenet,
                                       inception, densenet, squeezenet)
            for name, entry in family.NETWORKS.items()}

# Networks models.json does not hold, at their builders' default class counts: LeNet-5
# with full C3 connectivity; the option-A CIFAR ResNets (0.27M and 0.85M in He et al. 2015,
# table 6); VGG-19-BN as torchvision's documentation lists it.
PUBLISHED_PARAMS = {"lenet5": 61_706, "resnet20": 269_722, "resnet56": 853_018,
                    "vgg19-bn": 143_678_248}


@pytest.fixture(scope="module")
def reference() -> dict:
    """``models.json``'s models; skips when the reference is absent."""
    if not REFERENCE.is_file():
        pytest.skip(f"torchvision reference not found: {REFERENCE} does not exist")
    return json.loads(REFERENCE.read_text())["models"]


def random_state_dict(layout: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Random tensors of the given keys and shapes: weights uniform in +-1/sqrt(fan-in),
    vectors (biases, BatchNorm statistics) in [0.5, 1), BatchNorm counters 0."""
    state = {}
    for key, shape in layout.items():
        if not shape:
            state[key] = torch.tensor(0)
        elif len(shape) == 1:
            state[key] = torch.rand(shape) * 0.5 + 0.5
        else:
            bound = 1 / math.sqrt(math.prod(shape[1:]))
            state[key] = torch.empty(shape).uniform_(-bound, bound)
    return state


def test_every_network_is_checked_against_a_count():
    unchecked = [name for name, entry in NETWORKS.items()
                 if entry.torchvision is None and name not in PUBLISHED_PARAMS]
    assert unchecked == []


@pytest.fixture(scope="module", params=sorted(NETWORKS))
def loaded(request, reference):
    """``(entry, model, state)``: the network in eval mode holding ``state``, a random
    state dict in its reference layout (its own layout where the reference lacks it)."""
    entry = NETWORKS[request.param]
    with torch.device("meta"):
        model = entry.build()
    own_layout = {key: list(value.shape) for key, value in model.state_dict().items()}
    layout = reference.get(entry.torchvision, {}).get("state_dict", own_layout)
    state = random_state_dict(layout)
    result = model.load_state_dict(state, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    return entry, model.eval(), state


def test_parameter_count_equals_the_reference(loaded, reference):
    entry, model, _ = loaded
    params = sum(p.numel() for p in model.parameters())
    if entry.torchvision in reference:
        expected = reference[entry.torchvision]
        assert params == expected["params"]
        assert sum(b.numel() for b in model.buffers()) == expected["buffers"]
    else:
        assert params == PUBLISHED_PARAMS[entry.name]


def test_torchvision_state_dict_loads_strictly(loaded, reference):
    entry, model, state = loaded
    if entry.torchvision not in reference:
        pytest.skip(f"{entry.name}: the torchvision reference has no such network")
    own = model.state_dict()
    assert list(own) == list(reference[entry.torchvision]["state_dict"])
    assert all(torch.equal(own[key], value) for key, value in state.items())


def test_forward_at_default_and_small_size(loaded):
    entry, model, _ = loaded
    channels = len(entry.mean)
    classes = 1000 if entry.torchvision else 10  # the builders' defaults
    with torch.no_grad():
        for side in (entry.input_size, max(64, entry.min_input), entry.min_input):
            x = torch.rand(1, channels, side, side).to(memory_format=torch.channels_last)
            features = model.forward_features(x)
            logits = model(x)
            assert features.shape[1] == model.num_features
            assert features.is_contiguous(memory_format=torch.channels_last)
            assert logits.shape == (1, classes)
            assert torch.isfinite(logits).all()
            torch.testing.assert_close(logits, model.forward_head(features))


def test_resnet20_shortcut_pads_with_zeros():
    shortcut = resnet_cifar.ZeroPadShortcut(16, 32, stride=2)
    x = torch.rand(2, 16, 8, 8)
    out = shortcut(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert not out[:, :8].any() and not out[:, 24:].any()


def test_resnet20_training_steps_lower_the_loss_on_cifar10(shared_data):
    if not (shared_data / "cifar10-jpg.tar.gz").is_file():
        pytest.skip(f"cifar10-jpg.tar.gz not found in {shared_data}")
    sample = archive_sample(shared_data / "cifar10-jpg.tar.gz", SAMPLE_PER_CLASS)
    images, labels = sample_arrays(sample["train"], CIFAR10_CLASSES)
    entry = NETWORKS["resnet20"]
    mean = torch.tensor(entry.mean).view(1, 3, 1, 1)
    std = torch.tensor(entry.std).view(1, 3, 1, 1)
    x = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 - mean) / std
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(labels.astype(np.int64))
    torch.manual_seed(0)
    model = entry.build(num_classes=10).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(4):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.9, losses
