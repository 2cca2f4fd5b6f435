"""Activations by Keras name."""

from __future__ import annotations

import pytest
import torch

from cnnkit import activations


def test_softmax_runs_over_channels_of_images_and_features_of_vectors() -> None:
    softmax = activations.get("softmax")
    images = torch.randn(2, 5, 3, 4)
    torch.testing.assert_close(softmax(images).sum(dim=1), torch.ones(2, 3, 4))
    vectors = torch.randn(3, 7)
    torch.testing.assert_close(softmax(vectors).sum(dim=1), torch.ones(3))


@pytest.mark.parametrize(("name", "x", "expected"), [
    ("relu", -2.0, 0.0),
    ("relu", 3.0, 3.0),
    ("leaky_relu", -1.0, -0.2),  # Keras 3 default negative_slope
    ("linear", -5.0, -5.0),
    (None, -5.0, -5.0),
    ("sigmoid", 0.0, 0.5),
    ("tanh", 0.0, 0.0),
    ("elu", -1e9, -1.0),
    ("hard_sigmoid", 1.5, 0.75),  # Keras 3: relu6(x + 3) / 6
    ("softplus", 0.0, 0.6931472),
    ("relu6", 7.0, 6.0),
    ("relu6", -1.0, 0.0),
    ("hard_swish", 1.0, 2.0 / 3.0),  # Keras 3: x * relu6(x + 3) / 6
    ("hard_swish", -4.0, 0.0),
    ("hard_swish", 4.0, 4.0),
    ("hard_silu", 1.0, 2.0 / 3.0),
])
def test_values(name: str | None, x: float, expected: float) -> None:
    out = activations.get(name)(torch.tensor([x]))
    assert out.item() == pytest.approx(expected, abs=1e-6)


def test_swish_is_silu_and_gelu_is_exact() -> None:
    x = torch.linspace(-4, 4, 17)
    torch.testing.assert_close(activations.get("swish")(x), x * torch.sigmoid(x))
    torch.testing.assert_close(activations.get("silu")(x), x * torch.sigmoid(x))
    exact = 0.5 * x * (1 + torch.erf(x / 2 ** 0.5))
    torch.testing.assert_close(activations.get("gelu")(x), exact)


def test_each_call_returns_a_new_module() -> None:
    assert activations.get("relu") is not activations.get("relu")
