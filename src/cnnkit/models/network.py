"""The torch module behind a ``Sequential``: layer modules in order, named by layer name.

Image tensors are NCHW in channels_last memory format throughout. When the last layer's
``softmax``/``sigmoid`` is fused into the loss, the network outputs logits and
``output_activation`` turns them into probabilities for ``predict()``.

A layer with a ReLU activation followed directly by max pooling runs as op, pool, ReLU:
``max(relu(x)) == relu(max(x))`` holds exactly, for the values and for the gradients (the
pool routes each gradient to the same input either way, and ReLU's gradient there is the
same), but the ReLU then touches a quarter of the values, in place. Where that layer is a
convolution of a shape a hand-written kernel covers (kernels/fused.py: on 1-4 channels of
input data, 3x3 or 5x5; or 3x3 on multiples of 16 channels, by Winograd), the three run
as that one kernel; a 3x3 ReLU convolution on multiples of 16 channels without pooling
runs on the Winograd kernel too.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from .. import activations
from ..kernels.fused import conv_pool_relu, conv_relu, fusable, relu_fusable
from ..layers.pooling import MaxPool2d


def pool_first_pairs(names: list[str], ops: nn.ModuleDict, acts: nn.ModuleDict
                     ) -> dict[str, str]:
    """``{layer: next max-pooling layer}`` for each ReLU layer whose output only feeds a
    max pooling without activation, whose ReLU can therefore run after the pooling."""
    return {a: b for a, b in pairwise(names)
            if type(acts[a]) is nn.ReLU and isinstance(ops[b], MaxPool2d)
            and isinstance(acts[b], nn.Identity)}


class Network(nn.Module):
    """Runs each layer's op then its activation. ``state_dict`` keys read
    ``<layer name>.<param>`` (e.g. ``conv2d.weight``)."""

    def __init__(self, layers, input_shape: tuple[int, ...], fuse_output: bool):
        super().__init__()
        self.ops = nn.ModuleDict()
        self.acts = nn.ModuleDict()
        self.names: list[str] = []
        self.shapes: list[tuple[int, ...]] = []
        shape = tuple(input_shape)
        for index, layer in enumerate(layers):
            module = layer.module_for(shape)
            shape = tuple(layer.compute_output_shape(shape))
            self.ops[layer.name] = module
            last = index == len(layers) - 1
            fused = last and fuse_output
            act = layer.activation
            self.acts[layer.name] = activations.get(None if fused else act)
            self.names.append(layer.name)
            self.shapes.append(shape)
        self.output_activation = activations.get(
            layers[-1].activation if (layers and fuse_output) else None)
        self.pool_first = pool_first_pairs(self.names, self.ops, self.acts)
        self.fused = {name for name, pool in self.pool_first.items()
                      if fusable(self.ops[name], self.ops[pool])}
        self.fused_relu = {name for name in self.names
                           if name not in self.pool_first and type(self.acts[name]) is nn.ReLU
                           and relu_fusable(self.ops[name])}
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or the declared output when nothing is fused)."""
        pooled = None
        for name in self.names:
            if name == pooled:
                continue
            pooled = self.pool_first.get(name)
            if pooled is None:
                if name in self.fused_relu and (fused := conv_relu(
                        self.ops[name], self.acts[name], x)) is not None:
                    x = fused
                else:
                    x = self.acts[name](self.ops[name](x))
            elif name in self.fused and (fused := conv_pool_relu(
                    self.ops[name], self.ops[pooled], x)) is not None:
                x = fused
            else:
                x = torch.relu_(self.ops[pooled](self.ops[name](x)))
        return x

    def features(self, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
        """The outputs of the named layers (after their activation) for one forward pass,
        computed layer by layer."""
        found = {}
        for name in self.names:
            x = self.acts[name](self.ops[name](x))
            if name in wanted:
                found[name] = x
            if len(found) == len(wanted):
                break
        return found
