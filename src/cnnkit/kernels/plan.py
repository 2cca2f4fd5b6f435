"""Kernel planning: which nodes of a network's graph run as one fused step.

``plan(network, steps)`` takes the network's plain steps (one per node: op, then
activation) and returns them with some replaced:

- **Pool first.** A node with a ReLU activation whose output only feeds one max pooling
  node without activation (and is not the network's output) runs as op, pool, in-place
  ReLU: ``max(relu(x)) == relu(max(x))`` holds exactly, for the values and for the
  gradients (the pool routes each gradient to the same input either way, and ReLU's
  gradient there is the same), but the ReLU then touches a quarter of the values. Where
  the op is a convolution a hand-written kernel covers (kernels/fused.py), the three run
  as that one kernel.
- **ReLU convolutions** that a kernel covers unpooled (3x3 on multiples of 16 channels,
  by Winograd) run on it.

This works on any graph (residual blocks included), not only on a line of layers. A step
is any object with ``name`` (its layer), ``inputs`` (node positions, -1 for the network's
input), ``output`` (the node position it computes), ``kernel`` (whether a kernel may run
it) and ``__call__(network, *inputs)``; the network runs the steps in order. Without
``kernels/``, a network would run its plain steps unchanged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from ..layers.pooling import MaxPool2d
from .fused import conv_pool_relu, conv_relu, fusable, relu_fusable


@dataclass(frozen=True)
class PoolFirst:
    """Node ``name`` (ReLU) and its only consumer, max pooling node ``pool``, as op, pool,
    ReLU; on a kernel when ``kernel``."""

    name: str
    pool: str
    inputs: tuple[int, ...]
    output: int
    kernel: bool

    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """relu(pool(op(x)))."""
        op, pool = net.ops[self.name], net.ops[self.pool]
        if self.kernel and (fused := conv_pool_relu(op, pool, x)) is not None:
            return fused
        return torch.relu_(pool(op(x)))


@dataclass(frozen=True)
class ConvRelu:
    """Node ``name``, a ReLU convolution a kernel covers."""

    name: str
    inputs: tuple[int, ...]
    output: int
    kernel: bool = True

    def __call__(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """relu(conv(x))."""
        op, act = net.ops[self.name], net.acts[self.name]
        if (fused := conv_relu(op, act, x)) is not None:
            return fused
        return act(op(x))


def plan(net: nn.Module, steps: list) -> list:
    """``steps`` (one plain step per node of ``net.nodes``, in order) with the fusable
    nodes replaced by kernel steps; a pooling node run inside its producer's step is
    dropped."""
    consumers = Counter(i for node in net.nodes for i in set(node.inputs))
    by_input = {node.inputs[0]: pos for pos, node in enumerate(net.nodes)
                if len(node.inputs) == 1}
    planned: list = []
    swallowed: set[int] = set()
    for pos, step in enumerate(steps):
        if pos in swallowed:
            continue
        name = step.name
        op, act = net.ops[name], net.acts[name]
        relu = type(act) is nn.ReLU and len(net.nodes[pos].inputs) == 1
        after = by_input.get(pos)
        if (relu and after is not None and consumers[pos] == 1 and pos != net.output
                and _plain_max_pool(net, net.nodes[after].layer.name)):
            pool = net.nodes[after].layer.name
            planned.append(PoolFirst(name, pool, step.inputs, after,
                                     fusable(op, net.ops[pool])))
            swallowed.add(after)
        elif relu and relu_fusable(op):
            planned.append(ConvRelu(name, step.inputs, step.output))
        else:
            planned.append(step)
    return planned


def _plain_max_pool(net: nn.Module, name: str) -> bool:
    return isinstance(net.ops[name], MaxPool2d) and isinstance(net.acts[name], nn.Identity)
