"""Merge layers, as in Keras: ``Add``, ``Multiply``, ``Average`` and ``Concatenate`` take a
list of tensors (``layers.Add()([x, shortcut])``) and give one.

The element-wise merges take inputs of one shape, where a size of 1 broadcasts as in
Keras; ``Concatenate(axis=-1)`` joins along a channels-last axis (counted with the batch
axis first, as in Keras), mapped onto the NCHW tensors inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from cnnkit.errors import LayerShapeError
from cnnkit.layers.base import Layer
from cnnkit.layers.calls import batch_tensor
from cnnkit.layers.symbolic import KerasTensor, symbolic_inputs


class Sum(nn.Module):
    """The sum of the inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        """x1 + x2 + ..."""
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Product(nn.Module):
    """The element-wise product of the inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        """x1 * x2 * ..."""
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Mean(Sum):
    """The element-wise mean of the inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        """(x1 + x2 + ...) / n"""
        return super().forward(*xs) / len(xs)


class Concat(nn.Module):
    """The inputs joined along ``dim`` (of the NCHW or (N, F) tensors)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        """torch.cat along the dimension."""
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Merge(Layer):
    """A layer of two or more inputs: shapes are checked over the list."""

    takes_many_inputs = True
    module_class: ClassVar[type[nn.Module]] = Sum

    def compute_output_shape(self, input_shape: Sequence[Sequence[int]]) -> tuple[int, ...]:
        """The merged shape for a list of input shapes (batch axis left out)."""
        if (not isinstance(input_shape, Sequence) or len(input_shape) < 2
                or not all(isinstance(s, Sequence) for s in input_shape)):
            raise self.error(f"takes a list of at least two inputs, got {input_shape!r}",
                             hint=f"e.g. layers.{self.keras_name}()([a, b])")
        return self._merged_shape([self._shape(s, "input") for s in input_shape])

    def _merged_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        if len({len(s) for s in shapes}) > 1:
            raise self._mismatch(shapes)
        merged = []
        for sizes in zip(*shapes, strict=True):
            others = {size for size in sizes if size != 1}
            if len(others) > 1:
                raise self._mismatch(shapes)
            merged.append(others.pop() if others else 1)
        return tuple(merged)

    def _mismatch(self, shapes: list[tuple[int, ...]]) -> LayerShapeError:
        listed = ", ".join(str((None, *s)) for s in shapes)
        return self.error(f"inputs of different shapes cannot be merged: {listed}",
                          hint="give the branches the same shape (e.g. a 1x1 Conv2D with "
                               "matching filters and strides on the shortcut)",
                          kind=LayerShapeError)

    def module_for(self, input_shape: Sequence[Sequence[int]]) -> nn.Module:
        """The merge's module (no weights, so one module serves every input shape)."""
        self.compute_output_shape(input_shape)
        if self._module is None:
            self._module = self._make_module(())
        return self._module

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return self.module_class()

    def __call__(self, inputs: Any, training: bool | None = None) -> torch.Tensor | KerasTensor:
        """Merge a list of batches (arrays or tensors, channels-last) into one, or record
        the call on symbolic tensors."""
        symbolic = symbolic_inputs(inputs)
        if symbolic is not None:
            return self.call_symbolic(inputs, symbolic)
        if not isinstance(inputs, list | tuple):
            raise self.error("takes a list of batches", hint=f"e.g. {self.name}([a, b])")
        xs = [batch_tensor(x) for x in inputs]
        shapes = [(*x.shape[2:], x.shape[1]) if x.dim() == 4 else tuple(x.shape[1:])
                  for x in xs]
        out = self.module_for(shapes)(*xs)
        return out.permute(0, 2, 3, 1) if out.dim() == 4 else out


class Add(_Merge):
    """Adds its inputs, as ``keras.layers.Add`` (a residual connection's join)."""


class Multiply(_Merge):
    """Multiplies its inputs element-wise, as ``keras.layers.Multiply``."""

    module_class = Product


class Average(_Merge):
    """Averages its inputs element-wise, as ``keras.layers.Average``."""

    module_class = Mean


class Concatenate(_Merge):
    """Joins its inputs along ``axis`` (default -1: channels), as
    ``keras.layers.Concatenate``; the other axes must agree."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise self.error(f"axis must be a non-zero integer (0 is the batch axis), "
                             f"got {axis!r}", hint="axis=-1 joins channels")
        self.axis = axis

    def _axis(self, rank: int) -> int:
        """The sample axis (0-based, no batch axis) that ``axis`` names."""
        axis = self.axis - 1 if self.axis > 0 else rank + self.axis
        if not 0 <= axis < rank:
            raise self.error(f"axis {self.axis} does not exist for inputs of rank {rank + 1}",
                             kind=LayerShapeError)
        return axis

    def _merged_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        rank = len(shapes[0])
        if len({len(s) for s in shapes}) > 1:
            raise self._mismatch(shapes)
        axis = self._axis(rank)
        rest = {s[:axis] + s[axis + 1:] for s in shapes}
        if len(rest) > 1:
            raise self._mismatch(shapes)
        return (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1:])

    def module_for(self, input_shape: Sequence[Sequence[int]]) -> nn.Module:
        """The module joining along the NCHW dimension of ``axis`` for these inputs."""
        self.compute_output_shape(input_shape)
        rank = len(input_shape[0])
        axis = self._axis(rank)
        dim = (2, 3, 1)[axis] if rank == 3 else axis + 1  # (H, W, C) -> NCHW
        if self._module is None or self._module.dim != dim:
            self._module = Concat(dim)
        return self._module


def add(inputs: list, **kwargs: Any) -> torch.Tensor | KerasTensor:
    """``Add(**kwargs)(inputs)``, as ``keras.layers.add``."""
    return Add(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any) -> torch.Tensor | KerasTensor:
    """``Multiply(**kwargs)(inputs)``, as ``keras.layers.multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any) -> torch.Tensor | KerasTensor:
    """``Average(**kwargs)(inputs)``, as ``keras.layers.average``."""
    return Average(**kwargs)(inputs)


def concatenate(inputs: list, axis: int = -1, **kwargs: Any) -> torch.Tensor | KerasTensor:
    """``Concatenate(axis, **kwargs)(inputs)``, as ``keras.layers.concatenate``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
