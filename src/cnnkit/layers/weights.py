"""Where a layer's Keras weights live in its torch module, and their two layouts.

Keras lays kernels out ``(kh, kw, in, out)``, depthwise kernels ``(kh, kw, in, mult)`` and
dense kernels ``(in, out)``; torch wants ``(out, in, kh, kw)``, ``(in * mult, 1, kh, kw)``
and ``(out, in)``. A :class:`Weight` names one Keras weight, the torch tensor that holds
it and how to initialise it; the functions here convert between the layouts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnkit import initializers


@dataclass(frozen=True)
class Weight:
    """One Keras weight of a layer, in Keras order.

    ``path`` is the parameter or buffer in the built module (``"weight"``,
    ``"depthwise.weight"``, ``"running_mean"``); ``layout`` is ``"conv"``, ``"depthwise"``,
    ``"dense"`` or ``"vector"``; ``multiplier`` is the depth multiplier of a depthwise kernel.
    """

    path: str
    layout: str = "vector"
    initializer: str | dict = "zeros"
    multiplier: int = 1

    def tensor(self, module: nn.Module) -> torch.Tensor:
        """The torch parameter or buffer holding this weight."""
        return functools.reduce(getattr, self.path.split("."), module)

    def to_keras(self, tensor: torch.Tensor) -> torch.Tensor:
        """A torch-layout tensor rearranged into the Keras layout."""
        if self.layout == "conv":
            return tensor.permute(2, 3, 1, 0)
        if self.layout == "depthwise":
            channels, _, kh, kw = tensor.shape
            return tensor.reshape(channels // self.multiplier, self.multiplier, kh, kw)\
                .permute(2, 3, 0, 1)
        if self.layout == "dense":
            return tensor.t()
        return tensor

    def to_torch(self, tensor: torch.Tensor) -> torch.Tensor:
        """A Keras-layout tensor rearranged into the torch layout."""
        if self.layout == "conv":
            return tensor.permute(3, 2, 0, 1)
        if self.layout == "depthwise":
            kh, kw, channels, multiplier = tensor.shape
            return tensor.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
        if self.layout == "dense":
            return tensor.t()
        return tensor

    def keras_shape(self, module: nn.Module) -> tuple[int, ...]:
        """The Keras shape of this weight as the module holds it."""
        return tuple(self.to_keras(self.tensor(module)).shape)

    @torch.no_grad()
    def initialize(self, module: nn.Module) -> None:
        """Draw the weight with its Keras initialiser, using Keras's fans."""
        fan_in, fan_out = initializers.compute_fans(self.keras_shape(module))
        initializers.get(self.initializer)(self.tensor(module), fan_in, fan_out)

    @torch.no_grad()
    def load(self, module: nn.Module, array: np.ndarray) -> None:
        """Copy a Keras-layout array into the module (shapes must already match)."""
        target = self.tensor(module)
        source = torch.as_tensor(np.asarray(array), dtype=target.dtype)
        target.copy_(self.to_torch(source))

    def read(self, module: nn.Module) -> np.ndarray:
        """The weight as a Keras-layout numpy array (a copy)."""
        return self.to_keras(self.tensor(module).detach()).cpu().numpy().copy()
