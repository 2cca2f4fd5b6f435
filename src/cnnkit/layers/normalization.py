"""BatchNormalization with Keras's defaults, weights, parameter split and statistics."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
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


class KerasBatchStatistics:
    """Mixin: the moving variance follows the batch's biased variance, as Keras 3's
    ``ops.moments`` gives it, where torch keeps the unbiased one (n/(n-1) larger: 3 % for a
    batch of 32 feature vectors); and a batch with one value per channel (one image at a 1x1
    map or one feature vector) normalises to beta, as in Keras, where torch refuses it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """torch's batch norm, its moving-variance update then made Keras's."""
        if not self.training or not x.numel():
            return super().forward(x)
        self._check_input_dim(x)
        values = x.numel() // max(x.shape[1], 1)
        if values == 1:
            return self._one_value_per_channel(x)
        self.num_batches_tracked.add_(1)
        updated = self.running_var.clone()  # torch's update, kept out of the buffer autograd saw
        out = F.batch_norm(x, self.running_mean, updated, self.weight, self.bias, True,
                           self.momentum, self.eps)
        with torch.no_grad():  # updated = (1-m) rv + m n/(n-1) var; Keras: (1-m) rv + m var
            self.running_var.mul_((1 - self.momentum) / values).add_(updated,
                                                                     alpha=1 - 1 / values)
        return out

    def _one_value_per_channel(self, x: torch.Tensor) -> torch.Tensor:
        """Keras's arithmetic for a batch whose variance is 0: beta, and the moving mean moves
        toward the batch (the moving variance toward 0)."""
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = x.float().reshape(shape)
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(mean.reshape(-1), alpha=self.momentum)
            self.running_var.mul_(1 - self.momentum)
            self.num_batches_tracked.add_(1)
        out = (x.float() - mean) * torch.rsqrt(torch.tensor(self.eps))
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        return out.to(x.dtype)


class BatchNorm1d(_Freezable, KerasBatchStatistics, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` with Keras's statistics, kept in inference mode when frozen."""


class BatchNorm2d(_Freezable, KerasBatchStatistics, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` with Keras's statistics, kept in inference mode when frozen."""


class BatchNormalization(Layer):
    """Batch normalisation over the channel (last) axis, as ``keras.layers.BatchNormalization``.

    Builds ``nn.BatchNorm2d`` for images and ``nn.BatchNorm1d`` for feature vectors. Keras's
    ``momentum`` weighs the old moving average, torch's the new batch, so torch momentum is
    ``1 - momentum``. The moving variance averages the batches' biased variances, as Keras's
    does (torch's the unbiased), and a training batch with one value per channel gives beta,
    as in Keras (torch raises). gamma and beta are trainable parameters; the moving mean and
    variance are buffers, counted as non-trainable as in Keras. As in Keras 3, a layer with
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
