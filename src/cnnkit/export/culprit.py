"""Which layer broke an export: the network runs once eagerly with a hook on every module
to record what each one was given; then, from the top, the modules each module called are
exported on their own in call order, and the search goes down into the first that fails.
The deepest failing module is named: a module whose own ``forward`` does the unexportable
thing fails while its children pass. This works for any torch module, not only a stack of
layers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Call:
    """One module call of the eager run: where the module sits, what it was given, and the
    index of the call it was made from (None: from the graph itself)."""

    path: str
    module: nn.Module
    args: tuple
    parent: int | None


def _calls(graph: nn.Module, example: torch.Tensor) -> list[Call]:
    """Every module call below ``graph``, in the order they started."""
    calls: list[Call] = []
    stack: list[int] = []

    def before(path):
        def hook(module, args):
            inputs = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
            calls.append(Call(path, module, inputs, stack[-1] if stack else None))
            stack.append(len(calls) - 1)
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
    return calls


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
    calls = _calls(graph, example)

    def search(parent: int | None) -> tuple[str, nn.Module, Exception] | None:
        for index, call in enumerate(calls):
            if call.parent != parent:
                continue
            try:
                export_one(call.module, call.args)
            except Exception as exc:  # any exporter failure: this module or one inside it
                return search(index) or (layer_name(call.path), call.module, exc)
        return None

    return search(None)
