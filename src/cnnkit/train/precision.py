"""Which precision a run can use here: bf16 autocast needs native bf16 on the CPU.

The default, ``"auto"``, is bf16 autocast where the CPU computes bf16 natively and fp32
elsewhere. bf16 autocast left test accuracy within seed-to-seed spread on the three
tutorial runs (docs/performance.md); where it is emulated it halves the speed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


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


PRECISIONS = ("auto", "fp32", "bf16")


def autocast_precision(setting: str) -> str:
    """What a model's ``precision`` setting means for autocast: ``"auto"`` resolved for this
    CPU; ``"fp32"`` and ``"bf16"`` as given (a bf16 set on the model directly is used even
    where it is emulated, for measurements)."""
    return resolve_precision(setting)[0] if setting == "auto" else setting


def resolve_precision(requested: str) -> tuple[str, str | None]:
    """``(precision to use, notice or None)``: ``"auto"`` is bf16 with native bf16 and fp32
    otherwise; a requested bf16 falls back to fp32 without native bf16, where emulated bf16
    would only be slower, with a notice."""
    if requested == "auto":
        return ("bf16" if native_bf16() else "fp32"), None
    if requested == "bf16" and not native_bf16():
        return "fp32", ("notice: this CPU has no native bf16 (avx512_bf16 or amx_bf16), so "
                        "bf16 would be emulated and slower; training in fp32")
    return requested, None
