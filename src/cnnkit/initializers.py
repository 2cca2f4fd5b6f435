"""Keras weight initialisers by name, applied in place to torch tensors.

An initialiser is given the way Keras configs give it: a name (``"glorot_uniform"``,
``"he_normal"``, ``"zeros"``, ... or the class name ``"GlorotUniform"``) or a serialised
dict ``{"class_name": "RandomNormal", "config": {"stddev": 0.01}}``. Fans are those Keras
computes from the weight's Keras shape (see :func:`compute_fans`), so a torch tensor is
drawn from the same distribution as the Keras variable it stands for.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from functools import partial

import torch

from cnnkit.errors import LayerError
from cnnkit.registry import lookup, snake_case

Initializer = Callable[[torch.Tensor, int, int], None]

# Keras divides the stddev by this so that the normal truncated at 2 stddev has the
# intended variance.
_TRUNCATED_STDDEV_FIX = 0.87962566103423978


def compute_fans(keras_shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this Keras shape, as ``keras.initializers`` does.

    Convolution kernels ``(kh, kw, in, out)`` count the receptive field in both fans.
    """
    if len(keras_shape) == 0:
        return 1, 1
    if len(keras_shape) == 1:
        return keras_shape[0], keras_shape[0]
    receptive = math.prod(keras_shape[:-2])
    return keras_shape[-2] * receptive, keras_shape[-1] * receptive


@torch.no_grad()
def _variance_scaling(tensor: torch.Tensor, fan_in: int, fan_out: int, *, scale: float = 1.0,
                      mode: str = "fan_in", distribution: str = "truncated_normal") -> None:
    fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    variance = scale / max(1.0, lookup(fans, mode, "variance scaling mode"))
    if distribution == "uniform":
        limit = math.sqrt(3.0 * variance)
        tensor.uniform_(-limit, limit)
    elif distribution == "truncated_normal":
        std = math.sqrt(variance) / _TRUNCATED_STDDEV_FIX
        torch.nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)
    elif distribution == "untruncated_normal":
        tensor.normal_(0.0, math.sqrt(variance))
    else:
        raise LayerError(f"unknown variance scaling distribution {distribution!r}",
                         hint="use 'truncated_normal', 'untruncated_normal' or 'uniform'")


@torch.no_grad()
def _random_normal(tensor: torch.Tensor, fan_in: int, fan_out: int, *, mean: float = 0.0,
                   stddev: float = 0.05) -> None:
    tensor.normal_(mean, stddev)


@torch.no_grad()
def _truncated_normal(tensor: torch.Tensor, fan_in: int, fan_out: int, *, mean: float = 0.0,
                      stddev: float = 0.05) -> None:
    torch.nn.init.trunc_normal_(tensor, mean, stddev, mean - 2 * stddev, mean + 2 * stddev)


@torch.no_grad()
def _random_uniform(tensor: torch.Tensor, fan_in: int, fan_out: int, *, minval: float = -0.05,
                    maxval: float = 0.05) -> None:
    tensor.uniform_(minval, maxval)


@torch.no_grad()
def _constant(tensor: torch.Tensor, fan_in: int, fan_out: int, *, value: float = 0.0) -> None:
    tensor.fill_(value)


_INITIALIZERS: dict[str, Callable[..., None]] = {
    "glorot_uniform": partial(_variance_scaling, mode="fan_avg", distribution="uniform"),
    "glorot_normal": partial(_variance_scaling, mode="fan_avg"),
    "he_uniform": partial(_variance_scaling, scale=2.0, distribution="uniform"),
    "he_normal": partial(_variance_scaling, scale=2.0),
    "lecun_uniform": partial(_variance_scaling, distribution="uniform"),
    "lecun_normal": _variance_scaling,
    "variance_scaling": _variance_scaling,
    "random_normal": _random_normal,
    "truncated_normal": _truncated_normal,
    "random_uniform": _random_uniform,
    "zeros": partial(_constant, value=0.0),
    "ones": partial(_constant, value=1.0),
    "constant": _constant,
}


def get(identifier: str | dict) -> Initializer:
    """The initialiser for a Keras name or serialised dict, as ``f(tensor, fan_in, fan_out)``.

    Unknown names raise :class:`LayerError` suggesting the closest valid name.
    """
    options: dict = {}
    if isinstance(identifier, dict) and "class_name" in identifier:
        options = dict(identifier.get("config") or {})
        options.pop("seed", None)  # cnnkit draws from torch's global RNG (torch.manual_seed)
        identifier = identifier["class_name"]
    if isinstance(identifier, str):
        identifier = snake_case(identifier)
    function = lookup(_INITIALIZERS, identifier, "initializer")
    try:
        inspect.signature(function).bind(None, 1, 1, **options)
    except TypeError as exc:
        raise LayerError(f"initializer {identifier!r} does not take {sorted(options)}",
                         hint=str(exc)) from exc
    return partial(function, **options)
