"""Which layer broke an export: the network runs once eagerly with a hook on every module
to record what each one was given, then each module is exported on its own, the deepest
in the call tree first (in call order at each depth); the first that fails is named. A
module whose own ``forward`` does the unexportable thing fails after its children pass.
This works for any torch module, not only a stack of layers."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _calls(graph: nn.Module, example: torch.Tensor) -> list[tuple[str, nn.Module, tuple]]:
    """``(path, module, inputs)`` of every module call below ``graph``, deepest first."""
    calls: list[tuple[int, str, nn.Module, tuple]] = []
    stack: list[int] = []

    def before(path):
        def hook(module, args):
            calls.append((len(stack), path, module, tuple(
                a.detach() if isinstance(a, torch.Tensor) else a for a in args)))
            stack.append(len(calls))
        return hook

    def after(module, args, output):
        stack.pop()

    handles = []
    for path, module in graph.named_modules():
        if path:
            handles.append(module.register_forward_pre_hook(before(path)))
            handles.append(module.register_forward_hook(after))
    try:
        with torch.no_grad():
            graph(example)
    finally:
        for handle in handles:
            handle.remove()
    ordered = sorted(enumerate(calls), key=lambda item: (-item[1][0], item[0]))
    return [(path, module, args) for _, (_, path, module, args) in ordered]


def layer_name(path: str) -> str:
    """A module path as the user knows it: ``net.ops.conv2d_1`` -> ``conv2d_1`` (the
    containers cnnkit puts around layers left out; nested models joined by ``/``)."""
    parts = [p for p in path.split(".") if p not in ("net", "ops", "acts")]
    suffix = " (its activation)" if path.split(".")[-2:-1] == ["acts"] else ""
    return "/".join(parts) + suffix


def failing_layer(graph: nn.Module, example: torch.Tensor,
                  export_one: Callable[[nn.Module, tuple], None]
                  ) -> tuple[str, nn.Module, Exception] | None:
    """``(layer name, module, error)`` of the deepest module ``export_one`` fails on, or
    None when each exports alone (the failure is in how they are joined)."""
    for path, module, args in _calls(graph, example):
        try:
            export_one(module, args)
        except Exception as exc:  # any exporter failure: this is the layer
            return layer_name(path), module, exc
    return None
