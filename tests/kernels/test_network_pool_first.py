"""ReLU after max pooling (kernels/plan.py) equals ReLU before it, values and gradients."""

import pytest
import torch

from cnnkit import layers as L
from cnnkit import zoo
from cnnkit.kernels.build import KERNELS_ENV
from cnnkit.models import Sequential
from net_paths import node_by_node, outputs_and_grads
from real_batches import real_batch


@pytest.mark.parametrize("model, rgb", [
    (zoo.tutorial_mnist((28, 28, 1), 10), False),
    (zoo.tutorial_cifar10((28, 28, 3), 10), True),
    (Sequential([L.Input((28, 28, 1)), L.Conv2D(8, 3, padding="same", activation="relu"),
                 L.MaxPooling2D(3, strides=2, padding="same"), L.Flatten(), L.Dense(10)]),
     False),
])
def test_pool_first_is_exact_for_values_and_gradients(model, rgb, monkeypatch):
    monkeypatch.setenv(KERNELS_ENV, "0")  # the fused kernel sums in another order
    model.build()
    net = model.net.train()
    assert len(net.pool_first) >= 1
    x = real_batch(channels=3 if rgb else 1)
    fast, fast_grads = outputs_and_grads(net, x, net)
    slow, slow_grads = outputs_and_grads(net, x, lambda t: node_by_node(net, t))
    assert torch.equal(fast, slow)
    assert fast_grads.keys() == slow_grads.keys()
    for name, grad in fast_grads.items():
        assert torch.equal(grad, slow_grads[name]), name


def test_pool_first_applies_only_to_relu_straight_into_max_pooling():
    model = Sequential([
        L.Input((28, 28, 1)),
        L.Conv2D(4, 3, activation="relu", name="a"), L.MaxPooling2D(2, name="p1"),
        L.Conv2D(4, 3, activation="sigmoid", name="b"), L.MaxPooling2D(2, name="p2"),
        L.Conv2D(4, 3, activation="relu", name="c"),
        L.AveragePooling2D(1, name="p3"), L.Flatten(), L.Dense(3)])
    model.build()
    assert model.net.pool_first == {"a": "p1"}
