"""Normalization, as ``keras.layers.Normalization``: ``(x - mean) / max(sqrt(variance), 1e-7)``
(or its inverse), with the mean and variance given or learnt by ``adapt()``.

As in Keras, an adapted layer holds three non-trainable weights, ``mean`` and ``variance``
(one value per channel for ``axis=-1``, a scalar for ``axis=None``) and ``count``, so
``summary()`` counts ``2 * channels + 1`` parameters and a saved model keeps them; a layer
given ``mean`` and ``variance`` holds them in its config and has no weights.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnkit.layers.base import Layer
from cnnkit.layers.weights import Weight

EPSILON = 1e-7  # keras.backend.epsilon()
ADAPT_SLICE = 4096


class Standardize(nn.Module):
    """``(x - mean) / max(sqrt(variance), 1e-7)`` per channel (dim 1) or over everything."""

    def __init__(self, kept: tuple[int, ...], invert: bool,
                 fixed: tuple[np.ndarray, np.ndarray] | None = None):
        super().__init__()
        self.invert = invert
        if fixed is None:
            self.register_buffer("mean", torch.zeros(kept))
            self.register_buffer("variance", torch.ones(kept))
            self.register_buffer("count", torch.zeros((), dtype=torch.int64))
        else:  # given in the config: not weights, as in Keras
            self.mean = torch.as_tensor(fixed[0], dtype=torch.float32)
            self.variance = torch.as_tensor(fixed[1], dtype=torch.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise (or, with ``invert``, undo the normalisation)."""
        shape = (1, -1, *([1] * (x.dim() - 2))) if self.mean.dim() else ()
        mean = self.mean.to(x.dtype).reshape(shape)
        scale = torch.sqrt(self.variance.to(x.dtype)).clamp_min(EPSILON).reshape(shape)
        return mean + x * scale if self.invert else (x - mean) / scale


def _batches(data: Any):
    """Arrays of inputs from an array (in slices, to bound memory), or from an iterable of
    batches / (x, y) pairs."""
    if isinstance(data, np.ndarray) or hasattr(data, "__array__") or hasattr(data, "numpy"):
        array = np.asarray(data.numpy() if hasattr(data, "detach") else data)
        for start in range(0, max(len(array), 1), ADAPT_SLICE):
            yield array[start:start + ADAPT_SLICE]
        return
    for batch in data:
        x = batch[0] if isinstance(batch, tuple | list) else batch
        yield np.asarray(x.numpy() if hasattr(x, "detach") else x)


class Normalization(Layer):
    """Normalises inputs per channel (``axis=-1``) or as a whole (``axis=None``), as
    ``keras.layers.Normalization``. Learn the statistics with :meth:`adapt` or pass
    ``mean`` and ``variance``; ``invert=True`` undoes the normalisation."""

    # It scales raw values itself, with statistics in the units it was adapted on: a model
    # that starts with it gets uint8 images as raw pixel values, as in Keras (read by
    # models/inputs.py's check for layers that rescale their input).
    rescales_input = True

    def __init__(self, axis: int | tuple[int, ...] | None = -1, mean: Any = None,
                 variance: Any = None, invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = () if axis is None else tuple(axis) if isinstance(axis, tuple | list) else (axis,)
        if len(axes) > 1 or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise self.error(f"axis={axis!r} is not supported",
                             hint="use axis=-1 (one mean and variance per channel) or "
                                  "axis=None (one for all values)")
        self.axis = axes
        if (mean is None) != (variance is None):
            raise self.error("mean and variance must be given together, or neither "
                             "(then call adapt())")
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise self.error(f"mean has shape {np.shape(mean)} but variance has shape "
                             f"{np.shape(variance)}")
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64).tolist()
        self.variance = None if variance is None else \
            np.asarray(variance, dtype=np.float64).tolist()
        self.invert = bool(invert)
        self._adapted: tuple[np.ndarray, np.ndarray] | None = None
        self._modules: weakref.WeakSet[nn.Module] = weakref.WeakSet()

    # -- shapes --------------------------------------------------------------------------
    def _kept(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the mean and variance for samples of ``shape``."""
        if not self.axis:
            return ()
        rank = len(shape) + 1
        axis = self.axis[0] + rank if self.axis[0] < 0 else self.axis[0]
        if axis != rank - 1:
            raise self.error(f"only the last (channel) axis can be kept, got axis="
                             f"{self.axis[0]} for inputs of shape (None, "
                             f"{', '.join(map(str, shape))})",
                             hint="use axis=-1 or axis=None")
        return (shape[-1],)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) not in (1, 3):
            raise self.error(f"expects images or feature vectors, got shape {shape}")
        self._kept(shape)
        return shape

    def _fixed(self, kept: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
        if self.mean is None:
            return None
        try:
            return tuple(np.broadcast_to(np.asarray(v, np.float32), kept).copy()
                         for v in (self.mean, self.variance))  # type: ignore[return-value]
        except ValueError:
            raise self.error(f"mean and variance of shape {np.shape(self.mean)} do not fit "
                             f"{kept[0] if kept else 'one'} value(s)",
                             hint="give one value per channel, or a single number") from None

    # -- modules and weights -------------------------------------------------------------
    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        kept = self._kept(shape)
        return Standardize(kept, self.invert, self._fixed(kept))

    def weight_specs(self) -> list[Weight]:
        """mean, variance and count (none when mean and variance were given)."""
        if self.mean is not None:
            return []
        return [Weight("mean"), Weight("variance", initializer="ones"), Weight("count")]

    def build_module(self, input_shape) -> nn.Module:
        """The module, holding the statistics of an earlier :meth:`adapt`."""
        module = super().build_module(input_shape)
        if self._adapted is not None:
            self._store(module, *self._adapted)
        self._modules.add(module)
        return module

    def _store(self, module: nn.Module, mean: np.ndarray, variance: np.ndarray) -> None:
        if tuple(module.mean.shape) != mean.shape:
            raise self.error(f"adapt() saw {mean.size} channel(s) but the model gives this "
                             f"layer {module.mean.numel()}",
                             hint="adapt on data of the model's input shape")
        with torch.no_grad():
            module.mean.copy_(torch.from_numpy(mean))
            module.variance.copy_(torch.from_numpy(variance))

    # -- adapt ---------------------------------------------------------------------------
    def adapt(self, data: Any) -> None:
        """Learn the mean and variance of ``data`` (an array of samples, a cnnkit or Keras
        image dataset, or an iterable of batches or of ``(x, y)`` batches), as Keras's
        ``adapt()``: the population variance, batches combined exactly."""
        if self.mean is not None:
            raise self.error("adapt() on a layer given mean and variance",
                             hint="create Normalization() without mean and variance")
        if not any(hasattr(data, attr) for attr in ("__array__", "numpy", "__iter__")):
            raise self.error(f"adapt() takes an array, a Keras image dataset or an iterable "
                             f"of batches, got {type(data).__name__}",
                             hint="for a cnnkit.data.ImageDataset pass dataset.images")
        total_mean = total_var = None
        total = 0
        for batch in _batches(data):
            batch = np.asarray(batch, dtype=np.float64)
            if batch.ndim < 2:
                raise self.error(f"adapt() needs a batch of samples, got shape {batch.shape}")
            kept = self._kept(batch.shape[1:])
            reduce = tuple(range(batch.ndim - len(kept)))
            count = int(np.prod([batch.shape[d] for d in reduce]))
            mean, var = batch.mean(axis=reduce), batch.var(axis=reduce)
            if total_mean is None:
                total_mean, total_var, total = mean, var, count
                continue
            if mean.shape != total_mean.shape:
                raise self.error(f"adapt() got batches with {total_mean.size} and "
                                 f"{mean.size} channels")
            total += count
            weight = count / total
            new_mean = total_mean * (1 - weight) + mean * weight
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - weight)
                         + (var + (mean - new_mean) ** 2) * weight)
            total_mean = new_mean
        if total_mean is None:
            raise self.error("adapt() received no data")
        self._adapted = (np.asarray(total_mean, np.float32), np.asarray(total_var, np.float32))
        for module in list(self._modules):
            self._store(module, *self._adapted)
