"""Kernel or torch's ops: whichever this CPU runs faster for this layer, measured at first
use.

A kernel that is 2-4x oneDNN's speed on one CPU can be slower on another (a portable build
on an old CPU; issue 15 found 0.1-0.3x on AVX2 before the kernels were made to fit its
registers). So the first call of a fused layer for each shape, batch size, thread count and
pass (forward only, or forward and backward) times the kernel against torch's ops on that
very input, a few interleaved rounds each, and keeps the faster. The decision is cached
next to the built library, keyed by the library (source, compiler, CPU, build target),
torch's version and the call's shape, so the probe runs once per machine, not per process;
a probe costs a few forward and backward passes of one layer (milliseconds).

``CNNKIT_KERNELS=1`` uses the kernels without probing, ``0`` never uses them; unset (or
``auto``) probes, except under deterministic algorithms (``--deterministic``), where the
kernels run wherever they apply, so a run and its resume take the same path on any
machine. :func:`new_decisions` gives the decisions made since it was last called, for the
run log.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..atomic import write_text_atomically
from . import build
from .guards import hooked, padding_of

ROUNDS = 3
# Builds with 16-byte vectors (SSE4.2; NEON is untested) trained the tutorial CNNs at
# 0.74-1.00x kernels-off on the EPYC although each chosen layer had won its probe
# (docs/performance.md): they run only when asked for (CNNKIT_KERNELS=1).
MIN_LANES = 8

_lock = threading.Lock()
_decisions: dict[str, dict[str, dict]] = {}  # per kernel, read from its file on first use
_new: list[str] = []
_declined: set[str] = set()  # calls a kernel turned away (autocast, say): not probed again


def run_faster(name: str, kernel: Callable, reference: Callable, modules: tuple[nn.Module, ...],
               x: torch.Tensor) -> torch.Tensor | None:
    """``kernel(*modules, x)`` where the kernel is the faster way here (or is forced on),
    else None for the caller to run torch's ops (``reference(x)`` computes the same)."""
    setting = build.kernels_setting()
    if setting == "off":
        return None
    if setting == "on" or torch.are_deterministic_algorithms_enabled():
        return kernel(*modules, x)  # deterministic: the same path on every run and resume
    if _lanes(name) < MIN_LANES:
        return None
    if any(hooked(module) for module in modules):
        return None  # hooks come and go (explain, pruning): a decline not to remember
    key = _key(name, modules, x)
    if key is None or key in _declined:
        return None
    decision = _cached(name).get(key)
    if decision is None:
        with _lock:
            decision = _cached(name).get(key)
            if decision is None:
                decision = _probe(kernel, reference, modules, x, _backward(modules, x))
                if decision is None:  # the kernel turns such calls away: remember, skip
                    _declined.add(key)
                    return None
                _remember(name, key, decision)
    return kernel(*modules, x) if decision["kernel"] else None


def _lanes(name: str) -> int:
    """The floats in one vector of the kernel's library for the current target (0 when it
    cannot be built)."""
    library = build.load_kernel(name)
    if library is None:
        return 0
    if not hasattr(library, "cnnkit_lanes"):
        library.cnnkit_lanes = int(library.cnnkit_vector_lanes())
    return library.cnnkit_lanes


def new_decisions() -> list[str]:
    """The probe decisions made in this process since the last call, one line each."""
    with _lock:
        lines, _new[:] = list(_new), []
    return lines


def _backward(modules: tuple, x: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and (
        x.requires_grad or any(p.requires_grad for m in modules for p in m.parameters()))


def _key(name: str, modules: tuple[nn.Module, ...], x: torch.Tensor) -> str | None:
    """What a decision holds for: the library, torch, the layer (and what follows it:
    pooling or not), the input's shape, threads and the pass; None without a compiler.
    Autocast and an input that needs a gradient are part of it too, as they decide whether
    a kernel takes the call at all."""
    library = build.library_id(name)
    if library is None or x.dim() != 4:
        return None
    conv, after = modules
    n, c, h, w = x.shape
    kh, kw = conv.kernel_size
    backward = _backward(modules, x)
    extra = (", autocast" if torch.is_autocast_enabled("cpu") else "") + (
        ", input gradient" if x.requires_grad and backward else "")
    return (f"{library}|torch {torch.__version__}|{c}x{h}x{w} -> {conv.out_channels} "
            f"{kh}x{kw} pad {padding_of(conv)} then {type(after).__name__}|batch {n}"
            f"|threads {torch.get_num_threads()}"
            f"|{'training' if backward else 'inference'}{extra}")


def _probe(kernel: Callable, reference: Callable, modules: tuple, x: torch.Tensor,
           backward: bool) -> dict | None:
    """Time both ways; None if the kernel declines the call."""
    params = [p for module in modules for p in module.parameters() if p.requires_grad]

    def step(forward: Callable) -> Callable[[], torch.Tensor | None]:
        def once():
            xi = x.detach().requires_grad_(x.requires_grad)
            out = forward(xi)
            if out is not None and backward:
                inputs = [*params, *([xi] if x.requires_grad else [])]
                torch.autograd.grad(out, inputs, torch.ones_like(out))
            return out
        return once

    ways = {"kernel": step(lambda xi: kernel(*modules, xi)), "torch": step(reference)}
    if ways["kernel"]() is None:
        return None
    ways["torch"]()  # warm-up: oneDNN makes its primitives on first use
    best = {way: float("inf") for way in ways}
    for _ in range(ROUNDS):
        for way, once in ways.items():
            start = time.perf_counter()
            once()
            best[way] = min(best[way], time.perf_counter() - start)
    ratio = best["torch"] / best["kernel"]
    return {"kernel": ratio > 1.0, "ratio": round(ratio, 3)}


def _cache_file(name: str) -> Path:
    return build.cache_root() / "kernels" / f"{name}-choices.json"


def _read(name: str) -> dict[str, dict]:
    """The decisions in the cache file (none if it is missing or unreadable)."""
    try:
        return dict(json.loads(_cache_file(name).read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def _cached(name: str) -> dict[str, dict]:
    if name not in _decisions:
        _decisions[name] = _read(name)
    return _decisions[name]


def _remember(name: str, key: str, decision: dict) -> None:
    """Keep the decision for this process and in the cache file (merged with what other
    processes wrote there since)."""
    _cached(name)[key] = decision
    with contextlib.suppress(OSError):  # a read-only cache: it holds for this process
        write_text_atomically(_cache_file(name), json.dumps(
            {**_read(name), **_cached(name)}, indent=1))
    shape = key.split("|", 2)[2].replace("|", ", ")
    way = "the kernel" if decision["kernel"] else "torch's ops"
    _new.append(f"kernel probe: {name} on {shape}: kernel {decision['ratio']:.2f}x torch's "
                f"ops, using {way}")
