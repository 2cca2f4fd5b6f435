"""Which precision training runs in: fp32, or bf16 autocast.

Three settings exist: ``"fp32"``, ``"bf16"`` (autocast; emulated, and slower, on a CPU
without native bf16) and ``"auto"``: bf16 where the CPU computes bf16 natively (AVX512-BF16
or AMX), fp32 elsewhere. bf16 autocast left test accuracy within seed-to-seed spread on the
three tutorial runs (docs/performance.md).

Who picks which:
- Keras code (``cnnkit.keras`` models) trains in fp32, as Keras does, unless the global
  policy is ``mixed_bfloat16`` (:func:`set_global_policy`, which
  ``keras.mixed_precision.set_global_policy`` calls).
- ``cnnkit train`` takes ``--precision``, default ``auto``: bf16 where native, except for
  a network that trains faster in fp32 even there (:func:`faster_in_fp32`: the plain CNNs
  the fp32 kernels run).
- ``CNNKIT_PRECISION=auto|fp32|bf16`` in the environment sets the process-wide default of
  both: the default policy of Keras code (``auto`` keeps fp32 there) and what ``auto`` means
  for the CLI. Tests and measurements use it to run one path on any CPU.
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from pathlib import Path

from ..errors import ConfigError

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # fp16: CUDA only (train/device.py)
ENVIRONMENT_PRECISIONS = ("auto", "fp32", "bf16")  # the process-wide default: for any CPU
ENVIRONMENT_VARIABLE = "CNNKIT_PRECISION"
POLICIES = {"float32": "fp32", "mixed_bfloat16": "bf16"}

_global_policy: str | None = None  # set_global_policy(); None: from the environment


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags Linux reports (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16() -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16 or AMX)."""
    return any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)


def faster_in_fp32(net) -> bool:
    """Whether ``net`` trains faster in fp32 than in native bf16: a network without
    BatchNorm whose layers the hand-written kernels run (fp32 only; they step aside under
    autocast). Measured on an AVX512-BF16 CPU (docs/performance.md, "Recipes"): such plain
    CNNs train 1.7-1.8x faster in fp32, BatchNorm networks 1.3-1.9x faster in bf16."""
    from torch import nn

    from ..kernels.fused import carries

    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    return not has_batch_norm and carries(net)


def environment_precision() -> str:
    """``$CNNKIT_PRECISION`` (``"auto"`` when unset or empty); any other value than auto,
    fp32 or bf16 is ignored with a warning, so an explicit setting still works."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() or "auto"
    if value not in ENVIRONMENT_PRECISIONS:
        warnings.warn(f"{ENVIRONMENT_VARIABLE}={value!r} is not a precision (auto, fp32 or "
                      "bf16); it is ignored", stacklevel=2)
        return "auto"
    return value


def resolve_precision(requested: str, net=None) -> tuple[str, str | None]:
    """``(precision to use, notice or None)`` for a setting: ``"auto"`` is
    ``$CNNKIT_PRECISION`` where that names one, else bf16 with native bf16 and fp32
    otherwise, except for a ``net`` that trains faster in fp32 there
    (:func:`faster_in_fp32`); ``"bf16"`` is bf16 everywhere, with a notice where the CPU
    emulates it."""
    if requested not in PRECISIONS:
        raise ConfigError(f"precision {requested!r} is not one of auto, fp32, bf16, fp16")
    if requested == "auto":
        requested = environment_precision()
        if requested == "auto":
            bf16 = native_bf16() and not (net is not None and faster_in_fp32(net))
            return ("bf16" if bf16 else "fp32"), None
    if requested == "bf16" and not native_bf16():
        return "bf16", ("notice: this CPU has no native bf16 (avx512_bf16 or amx_bf16), so "
                        "bf16 autocast is emulated and slower than fp32")
    return requested, None


def check_policy(policy: str) -> str:
    """``policy`` if cnnkit trains in it (``"float32"``, ``"mixed_bfloat16"``), else a
    ConfigError that says what to use."""
    if policy not in POLICIES:
        hint = {"bfloat16": "cnnkit keeps the weights in float32: use 'mixed_bfloat16'",
                "mixed_float16": "float16 is a GPU format: on a CPU use 'mixed_bfloat16'",
                "float16": "float16 is a GPU format: on a CPU use 'mixed_bfloat16'"}.get(
                    str(policy), "use 'float32' or 'mixed_bfloat16'")
        raise ConfigError(f"dtype policy {policy!r} is not supported", hint=hint)
    return policy


def set_global_policy(policy: str | None) -> None:
    """The precision Keras models built from now on train in: ``"float32"`` or
    ``"mixed_bfloat16"`` (bf16 autocast); None goes back to the default (fp32, or
    ``$CNNKIT_PRECISION``)."""
    if policy is not None:
        check_policy(policy)
    global _global_policy
    _global_policy = policy


def global_policy() -> str:
    """The policy set by :func:`set_global_policy`, else ``"mixed_bfloat16"`` under
    ``CNNKIT_PRECISION=bf16`` and ``"float32"`` otherwise (Keras's default)."""
    if _global_policy is not None:
        return _global_policy
    return "mixed_bfloat16" if environment_precision() == "bf16" else "float32"


def model_precision() -> str:
    """The precision a new model trains in: the global policy's, ``"fp32"`` or ``"bf16"``."""
    return POLICIES[global_policy()]
