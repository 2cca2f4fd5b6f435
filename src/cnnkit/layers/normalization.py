"""BatchNormalization with Keras's defaults, weights and parameter split."""

from __future__ import annotations

from typing import Any

from torch import nn

from cnnkit.layers.base import Layer
from cnnkit.layers.weights import Weight


class _Freezable:
    """Mixin: with ``inference_only`` set (a frozen layer), the module stays in eval mode,
    normalising with the moving statistics and leaving them unchanged."""

    inference_only = False

    def train(self, mode: bool = True) -> nn.Module:
        """Training mode only when asked for and not frozen."""
        return super().train(mode and not self.inference_only)


class BatchNorm1d(_Freezable, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that a frozen layer keeps in inference mode."""


class BatchNorm2d(_Freezable, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that a frozen layer keeps in inference mode."""


class BatchNormalization(Layer):
    """Batch normalisation over the channel (last) axis, as ``keras.layers.BatchNormalization``.

    Builds ``nn.BatchNorm2d`` for images and ``nn.BatchNorm1d`` for feature vectors. Keras's
    ``momentum`` weighs the old moving average, torch's the new batch, so torch momentum is
    ``1 - momentum``. gamma and beta are trainable parameters; the moving mean and variance
    are buffers, counted as non-trainable as in Keras. As in Keras 3, a layer with
    ``trainable=False`` (given to the constructor, or set and then compiled) runs in
    inference mode, also while the model trains.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise self.error(f"axis must be an integer, got {axis!r}")
        if not 0 <= momentum <= 1:
            raise self.error(f"momentum must be between 0 and 1, got {momentum!r}")
        if not epsilon > 0:
            raise self.error(f"epsilon must be positive, got {epsilon!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = self._initializer(beta_initializer)
        self.gamma_initializer = self._initializer(gamma_initializer)
        self.moving_mean_initializer = self._initializer(moving_mean_initializer)
        self.moving_variance_initializer = self._initializer(moving_variance_initializer)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) not in (1, 3):
            raise self.error(f"expects images (height, width, channels) or feature vectors "
                             f"(features,), got {shape}")
        if self.axis not in (-1, len(shape)):
            raise self.error(f"only the channel axis (-1) can be normalised, got axis="
                             f"{self.axis}", hint="drop the axis argument")
        return shape

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        norm_class = BatchNorm2d if len(shape) == 3 else BatchNorm1d
        norm = norm_class(shape[-1], eps=self.epsilon, momentum=1.0 - self.momentum,
                          affine=self.scale or self.center)
        norm.inference_only = not self.trainable
        if not self.scale:
            norm.weight = None
        if not self.center:
            norm.bias = None
        return norm

    def freeze_module(self, module: nn.Module, trainable: bool) -> None:
        """Also switch the module to inference mode when frozen, as Keras 3 does."""
        super().freeze_module(module, trainable)
        module.inference_only = not trainable
        module.train(module.training)

    def weight_specs(self) -> list[Weight]:
        """gamma (if scale), beta (if center), moving_mean, moving_variance."""
        return [
            *([Weight("weight", initializer=self.gamma_initializer)] if self.scale else []),
            *([Weight("bias", initializer=self.beta_initializer)] if self.center else []),
            Weight("running_mean", initializer=self.moving_mean_initializer),
            Weight("running_var", initializer=self.moving_variance_initializer),
        ]
