"""Two ways through a network for the kernel-path tests: node by node (``features``, no
fusion) and whatever ``forward`` does, compared by outputs and weight gradients."""

from __future__ import annotations

import torch


def node_by_node(net, x):
    """The network's output computed one node at a time (no kernels, no pool-first)."""
    return net.features(x, {net.names[-1]})[net.names[-1]]


def outputs_and_grads(net, x, forward):
    """``forward(x)`` and the gradient of every weight under a fixed linear loss."""
    net.zero_grad(set_to_none=True)
    out = forward(x)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out.detach(), {n: p.grad.clone() for n, p in net.named_parameters()}
