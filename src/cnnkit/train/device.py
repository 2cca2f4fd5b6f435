"""Which device a run trains on: ``auto`` (a GPU when one exists: CUDA, then Apple's MPS,
else the CPU), ``cpu``, ``cuda`` (``cuda:N``) or ``mps``.

Batches are made on the CPU (uint8 rows of the memory-mapped cache, converted per batch)
and moved to the device just before the step; outputs come back to the CPU for metrics.
cnnkit's hand-written kernels (kernels/) run on CPU float32 tensors only, so on a GPU every
layer runs torch's own ops. Mixed precision on CUDA is autocast with a gradient scaler for
fp16 (bf16 needs none, as on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    """Whether Apple's Metal backend is usable in this torch build."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str | torch.device | None) -> torch.device:
    """The torch device for ``name`` (None = auto); a clear error for a device this machine
    or this torch build does not have."""
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip().lower()
    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise ConfigError(f"unknown device {name!r}", hint="use auto, cpu, cuda, cuda:N or mps")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        build = ("this torch is a CPU-only build" if torch.version.cuda is None
                 else f"torch was built for CUDA {torch.version.cuda} but finds no GPU")
        raise ConfigError(f"--device {name}: no CUDA GPU here ({build})",
                          hint="use --device cpu (or auto), or install a CUDA build of torch "
                               "on a machine with an NVIDIA GPU")
    if kind == "cuda" and ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
        raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} "
                          "GPU(s)", hint="number them from cuda:0")
    if kind == "mps" and not mps_available():
        raise ConfigError(f"--device {name}: Apple's Metal (MPS) backend is not available here",
                          hint="use --device cpu (or auto); MPS needs macOS on Apple silicon")
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``precision`` (fp32/bf16/fp16) on ``device`` (None: fp32)."""
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("fp16 needs a CUDA GPU", hint="use bf16 (or fp32) on the CPU")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def gradient_scaler(precision: str, device: torch.device):
    """A ``torch.amp.GradScaler`` for fp16 on CUDA (fp16 gradients underflow without one),
    else None."""
    if precision == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None


def moved(batch: tuple, device: torch.device) -> tuple:
    """A batch's tensors (None stays None) on ``device``; unchanged on the CPU."""
    if device.type == "cpu":
        return batch
    return tuple(None if t is None else t.to(device, non_blocking=True) for t in batch)


def on_device(net: torch.nn.Module, device: torch.device
              ) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net`` as a forward function of CPU inputs giving CPU outputs, run on ``device``."""
    if device.type == "cpu":
        return net
    return lambda x: net(x.to(device, non_blocking=True)).cpu()
