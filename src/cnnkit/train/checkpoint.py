"""Checkpoints that resume a run exactly, written so a crash never loses the last good one.

A checkpoint is one zip file (stored, not compressed) holding ``state.json`` and
``tensors.safetensors``: the model (architecture and weights), the optimizer, every callback's
state, every random generator's state, the loop position (epoch, step, running sums) and the
history so far. No pickle. It is written to a temporary file, flushed to disk and renamed over
the previous one, so at every instant the file at ``path`` is a complete checkpoint.
"""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ..atomic import atomic_file
from ..errors import CnnkitError

FORMAT = "cnnkit-checkpoint"


class CheckpointError(CnnkitError):
    """A checkpoint that is missing or cannot be read."""

    exit_code = 7


def pack(obj, prefix: str, tensors: dict[str, torch.Tensor]):
    """JSON-ready copy of ``obj`` with every tensor moved into ``tensors`` under a key."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = obj.detach().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: pack(v, f"{prefix}/{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[pack(k, prefix, tensors), pack(v, f"{prefix}/{k}", tensors)]
                              for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [pack(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return {"__float__": repr(obj)}
    return obj


def unpack(obj, tensors: dict[str, torch.Tensor]):
    """Inverse of :func:`pack`."""
    if isinstance(obj, list):
        return [unpack(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__items__" in obj:
        return {unpack(k, tensors): unpack(v, tensors) for k, v in obj["__items__"]}
    if "__tuple__" in obj:
        return tuple(unpack(v, tensors) for v in obj["__tuple__"])
    if "__ndarray__" in obj:
        return np.array(obj["__ndarray__"], dtype=obj["dtype"])
    if "__float__" in obj:
        return float(obj["__float__"])
    return {k: unpack(v, tensors) for k, v in obj.items()}


def rng_states() -> dict:
    """Every random generator a run draws from: Python, NumPy (global) and torch."""
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()}


def set_rng_states(states: dict) -> None:
    """Restore :func:`rng_states`."""
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(states["numpy"]))
    torch.set_rng_state(states["torch"])


def write_checkpoint(path: Path, state: dict) -> None:
    """Atomically write ``state`` (nested dicts/lists of JSON values and tensors)."""
    tensors: dict[str, torch.Tensor] = {}
    document = json.dumps({"format": FORMAT, "state": pack(state, "s", tensors)}).encode()
    blob = save_tensors(tensors)
    with atomic_file(path) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("state.json", document)
        archive.writestr("tensors.safetensors", blob)


def read_checkpoint(path: Path) -> dict:
    """The state saved by :func:`write_checkpoint`."""
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}",
                              hint="a run writes its first checkpoint at the end of its first "
                                   "epoch (or after --checkpoint-minutes)")
    try:
        with zipfile.ZipFile(path) as zf:
            document = json.loads(zf.read("state.json"))
            tensors = load_tensors(zf.read("tensors.safetensors"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc})") from exc
    if document.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a cnnkit checkpoint")
    return unpack(document["state"], tensors)
