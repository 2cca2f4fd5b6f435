"""Activations by their Keras names, as torch modules.

``get("relu")`` returns a fresh ``torch.nn.Module``; ``get(None)`` and ``get("linear")``
return the identity. Softmax works over the feature axis: dim 1, which is the channel
axis of NCHW images and the feature axis of ``(N, F)`` batches alike.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from cnnkit.registry import lookup

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "leaky_relu": partial(nn.LeakyReLU, 0.2),  # Keras 3 default negative_slope
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,  # Keras 3 default is the exact (erf) form, as torch's
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "mish": nn.Mish,
    "sigmoid": nn.Sigmoid,
    "hard_sigmoid": nn.Hardsigmoid,  # Keras 3: relu6(x + 3) / 6
    "hard_silu": nn.Hardswish,
    "hard_swish": nn.Hardswish,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
    "softsign": nn.Softsign,
    "softmax": partial(nn.Softmax, dim=1),
    "log_softmax": partial(nn.LogSoftmax, dim=1),
}


def validate(name: str | None) -> str | None:
    """Return ``name`` unchanged if :func:`get` knows it; raise ``LayerError`` otherwise."""
    if name is not None:
        lookup(_ACTIVATIONS, name, "activation")
    return name


def get(name: str | None) -> nn.Module:
    """A new torch module computing the activation called ``name`` (Keras spelling).

    ``None`` and ``"linear"`` give ``nn.Identity``. An unknown name raises
    :class:`cnnkit.errors.LayerError` suggesting the closest valid one.
    """
    if name is None:
        return nn.Identity()
    return lookup(_ACTIVATIONS, name, "activation")()
