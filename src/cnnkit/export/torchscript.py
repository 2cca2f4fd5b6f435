"""TorchScript export: the graph traced with ``torch.jit.trace`` and saved with the cnnkit
metadata as the extra file ``cnnkit.json`` (``torch.jit.load(path, _extra_files=...)``).
Loads in C++ (libtorch) and in Python without cnnkit."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

METADATA_FILE = "cnnkit.json"


def _trace(module: nn.Module, args: tuple) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 calls tracing deprecated: it still works
        with torch.no_grad():
            return torch.jit.trace(module, args, check_trace=False)


def export_module(module: nn.Module, args: tuple) -> None:
    """Trace ``module`` on ``args`` (raises when it cannot)."""
    _trace(module, args)


def write_torchscript(graph: nn.Module, example: torch.Tensor, path: Path,
                      metadata_json: str) -> None:
    """Trace ``graph`` and save it to ``path`` with the metadata as ``cnnkit.json``."""
    traced = _trace(graph, (example,))
    traced.save(str(path), _extra_files={METADATA_FILE: metadata_json})


def torchscript_metadata(path: Path) -> str:
    """The ``cnnkit.json`` text saved with a TorchScript file."""
    files = {METADATA_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.load(str(path), _extra_files=files)
    text = files[METADATA_FILE]
    return text.decode() if isinstance(text, bytes) else text
