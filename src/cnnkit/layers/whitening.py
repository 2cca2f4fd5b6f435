"""PatchWhitening: a first convolution whose filters whiten the input's pixel patches.

airbench (Keller Jordan, 2024) starts its CIFAR-10 network with a 2x2 convolution whose
filters are the eigenvectors of the covariance of the training images' 2x2 patches, each
scaled by 1/sqrt(eigenvalue), once with each sign: its outputs are decorrelated, unit
variance features, and they stay fixed (only the bias trains). The network then learns
from the first step as if its input were whitened, which saves about a third of the
epochs to a given accuracy on CIFAR-10.

Here the filters come from the first training batch the layer sees (data-dependent
initialisation, so no separate pass over the data is needed; a batch of 512 32x32 images
holds 490,000 patches for a 12x12 covariance). A model whose weights are loaded keeps the
loaded filters. ``filters`` must be ``2 * kernel_h * kernel_w * channels``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnkit.layers.conv import Conv2D, Conv2d

EPSILON = 5e-4  # x the mean eigenvalue, added to each before 1/sqrt: caps flat directions' gain


class WhiteningConv2d(Conv2d):
    """A convolution that sets its filters from the patches of its first training batch."""

    whitened = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Whiten on the first training call, then convolve."""
        if self.training and not self.whitened:
            self.whiten(x)
        return super().forward(x)

    @torch.no_grad()
    def whiten(self, x: torch.Tensor) -> None:
        """Filters = eigenvectors of the patch covariance of ``x`` / sqrt(eigenvalue), both
        signs; the bias centres the outputs."""
        kh, kw = self.kernel_size
        with torch.autocast(x.device.type, enabled=False):
            patches = x.float().unfold(2, kh, 1).unfold(3, kw, 1)  # N, C, H', W', kh, kw
            patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, self.in_channels * kh * kw)
            mean = patches.mean(0)
            patches = patches - mean
            covariance = patches.T @ patches / len(patches)
            values, vectors = torch.linalg.eigh(covariance.double())
            gains = torch.rsqrt(values.clamp_min(0) + EPSILON * values.mean())
            scaled = (vectors.T * gains[:, None]).float()
        kernels = torch.cat([scaled, -scaled])
        self.weight.copy_(kernels.reshape(-1, self.in_channels, kh, kw))
        if self.bias is not None:  # centred outputs: the mean patch maps to zero
            self.bias.copy_(-(kernels @ mean))
        self.whitened = True

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self.whitened = True  # loaded filters are kept


class PatchWhitening(Conv2D):
    """A ``kernel_size`` convolution (valid padding) with fixed whitening filters (see the
    module docstring); only its bias trains. ``filters`` is worked out from the input
    (twice the patch size); given, it must equal that."""

    def __init__(self, kernel_size: Any = 2, filters: int | None = None,
                 activation: str | None = None, use_bias: bool = True,
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(filters or 1, kernel_size, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, **kwargs)
        self.filters = filters

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._expect_image(shape)
        patch = 2 * self.kernel_size[0] * self.kernel_size[1] * shape[2]
        if self.filters not in (None, patch):
            raise self.error(f"filters must be {patch} (2 x the {self.kernel_size} patch of "
                             f"{shape[2]} channels), got {self.filters}",
                             hint="leave filters out")
        return (*self._out_hw(shape), patch)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        filters = self._output_shape(shape)[2]
        return WhiteningConv2d(shape[2], filters, self.kernel_size, bias=self.use_bias)

    def build_module(self, input_shape: Any) -> nn.Module:
        """Conv2D's module with the filters frozen."""
        module = super().build_module(input_shape)
        module.weight.requires_grad_(False)
        return module

    def freeze_module(self, module: nn.Module, trainable: bool) -> None:
        """The filters never train; the bias follows ``trainable``."""
        module.requires_grad_(trainable)
        module.weight.requires_grad_(False)

    def param_counts(self, module: nn.Module, trainable: bool) -> tuple[int, int]:
        """The filters count as non-trainable (they are computed, not learned)."""
        bias = 0 if module.bias is None else module.bias.numel()
        fixed = module.weight.numel()
        return (bias, fixed) if trainable else (0, bias + fixed)
