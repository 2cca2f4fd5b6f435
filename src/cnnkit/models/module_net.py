"""The torch module behind a :class:`~cnnkit.models.module_model.ModuleModel`.

It runs a network written as a plain ``nn.Module`` that follows the zoo protocol
(zoo/catalog.py: ``forward_features``, ``forward_head``, ``num_features``) on raw pixel
values (0..255), as Keras's EfficientNet and ConvNeXt take them: it repeats a grayscale
image to the network's RGB channels and normalises by the network's mean and std, then
runs the features, then the classifier head, or, without the head, global pooling or
nothing. The wrapped
module's children are this module's own children and nothing is added around them, so
``state_dict()`` keys are exactly the wrapped module's (torchvision's names): a
torchvision-format state dict loads with ``strict=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .. import activations


class ModuleNet(nn.Module):
    """``module`` (not registered: its children and weights are registered here as they
    are there) with Keras's ``include_top`` and ``pooling``; ``activation`` ends the head
    (Keras's ``classifier_activation``)."""

    def __init__(self, module: nn.Module, include_top: bool, pooling: str | None,
                 activation: str | None, mean: tuple[float, ...] = (0.0,),
                 std: tuple[float, ...] = (1.0 / 255.0,), channels: int = 3):
        super().__init__()
        object.__setattr__(self, "module", module)
        self._parameters = module._parameters
        self._buffers = module._buffers
        self._non_persistent_buffers_set = module._non_persistent_buffers_set
        self._modules = module._modules
        self.include_top, self.pooling, self.activation = include_top, pooling, activation
        self.inference_only = False  # a frozen model: batch norm in inference mode
        self.output_shape: tuple[int, ...] = ()
        self.channels = channels
        self.captured: list[torch.Tensor] | None = None  # see capture_features
        # pixels 0..255 -> (pixels / 255 - mean) / std, per channel, as one multiply-add;
        # plain attributes, not buffers: the state dict stays the wrapped module's
        std_ = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        object.__setattr__(self, "input_scale", 1.0 / (255.0 * std_))
        object.__setattr__(self, "input_offset",
                           -torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1) / std_)
        self.fuse_output(False)

    def fuse_output(self, fused: bool) -> None:
        """Output logits and leave the head's activation to ``output_activation`` (the
        loss takes logits), or compute the declared output."""
        # not registered as children: the children are the wrapped module's
        object.__setattr__(self, "final", activations.get(None if fused else self.activation))
        object.__setattr__(self, "output_activation",
                           activations.get(self.activation if fused else None))

    def layer_inputs(self) -> list[tuple]:
        """No Keras layers inside."""
        return []

    def train(self, mode: bool = True) -> ModuleNet:
        """Training mode for the module too; a frozen model keeps its batch norms in
        inference mode, as Keras 3 does for a non-trainable model."""
        super().train(mode)
        self.module.training = mode
        if self.inference_only:
            for sub in self.modules():
                if isinstance(sub, nn.modules.batchnorm._BatchNorm):
                    sub.train(False)
        return self

    @contextmanager
    def capture_features(self) -> Iterator[list[torch.Tensor]]:
        """A list that collects the feature maps (``forward_features``' NCHW output) of
        each forward pass inside the ``with`` block, e.g. for Grad-CAM."""
        self.captured = []
        try:
            yield self.captured
        finally:
            self.captured = None

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Raw pixel values (0..255) as the network's input: a grayscale image repeated to
        the network's RGB channels, then normalised by its mean and std."""
        if x.shape[1] == 1 and self.channels != 1:
            x = x.expand(-1, self.channels, -1, -1)
        return torch.addcmul(self.input_offset, x, self.input_scale).contiguous(
            memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores with the head; else the pooled (N, C) or unpooled NCHW features."""
        features = self.module.forward_features(self.prepare(x))
        if self.captured is not None:
            self.captured.append(features)
        if self.include_top:
            return self.final(self.module.forward_head(features))
        if self.pooling == "avg":
            return features.mean(dim=(2, 3))
        if self.pooling == "max":
            return features.amax(dim=(2, 3))
        return features
