"""Compiling cnnkit's C++ kernels with the machine's C++ compiler, once, into the cache.

A kernel's library is built on first use (a few seconds) for this CPU (``-march=native``,
or the target in ``$CNNKIT_KERNEL_MARCH``)
with OpenMP (``-fopenmp``: it then shares the libgomp torch has loaded, so its threads are
torch's), trying without either flag if the compiler refuses it or the result does not
load (Apple's clang has no ``-fopenmp``; the kernel then runs on one thread). It is kept
under ``$CNNKIT_CACHE/kernels``, keyed by its source, the compiler and the CPU, and loaded
with ``ctypes``. It is written to a temporary file and renamed, so a killed build never
leaves a broken library behind; the next build removes such a killed build's leftovers.

Where no kernel can be built (no compiler, say), ``load_kernel`` warns once and returns
None, and the layers run on torch's own ops: slower, never wrong. ``CNNKIT_KERNELS=0``
turns the kernels off without a warning; whether a built kernel is used for a layer is
decided by measuring it (kernels/probe.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import threading
import time
import warnings
from pathlib import Path

from ..data.cache import cache_root

KERNELS_ENV = "CNNKIT_KERNELS"
SOURCE_DIR = Path(__file__).parent
COMMON_FLAGS = ("-O3", "-shared", "-fPIC", "-std=c++17", "-Wno-unknown-pragmas")
MARCH_ENV = "CNNKIT_KERNEL_MARCH"
BUILD_SECONDS = 300

_lock = threading.Lock()
_loaded: dict[tuple[str, str], ctypes.CDLL | None] = {}  # by (kernel, target)
_ids: dict[tuple, str | None] = {}  # library_id() by (kernel, target, $CXX)
_warned: set[str] = set()


def kernels_setting() -> str:
    """``$CNNKIT_KERNELS`` as ``"off"`` (0, false, no, off), ``"on"`` (1, true, yes, on:
    kernels without the speed probe) or ``"auto"`` (unset, or anything else: each layer
    uses whichever is faster here, kernels/probe.py)."""
    value = os.environ.get(KERNELS_ENV, "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return "off"
    return "on" if value in ("1", "true", "yes", "on") else "auto"


def kernels_enabled() -> bool:
    """False when the user turned the kernels off with ``CNNKIT_KERNELS=0``."""
    return kernels_setting() != "off"


def find_compiler() -> str | None:
    """``$CXX``, else the first of c++, g++, clang++ on the PATH."""
    chosen = os.environ.get("CXX")
    if chosen:
        return chosen
    return next((found for name in ("c++", "g++", "clang++") if (found := shutil.which(name))),
                None)


def target_flag() -> str:
    """``-march=`` for the kernels: ``native`` (this CPU), or ``$CNNKIT_KERNEL_MARCH`` (e.g.
    ``x86-64-v3`` for AVX2 without AVX-512, ``x86-64-v2`` for SSE4.2), so tests and
    benchmarks can run another instruction set's code on this machine."""
    return f"-march={os.environ.get(MARCH_ENV, '').strip() or 'native'}"


def flag_choices() -> tuple[tuple[str, ...], ...]:
    """The flags to try, best first: the target with OpenMP, then without either. A target
    chosen in ``$CNNKIT_KERNEL_MARCH`` is never dropped: a build for another instruction
    set than the one asked for would be measured and tested as if it were that one."""
    march = target_flag()
    if os.environ.get(MARCH_ENV, "").strip():
        return (march, "-fopenmp"), (march,)
    return (march, "-fopenmp"), (march,), ("-fopenmp",), ()


def cpu_fingerprint() -> str:
    """The CPU's model and feature flags, which ``-march=native`` code depends on."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    wanted = [line for line in lines if line.startswith(("model name", "flags", "Features"))]
    return "\n".join(sorted(set(wanted))) or f"{platform.machine()} {platform.processor()}"


def library_id(name: str) -> str | None:
    """A name for the library ``load_kernel(name)`` loads now (its cache file's stem:
    source, compiler, CPU and target), or None without a compiler; worked out once per
    kernel, target and ``$CXX``."""
    key = (name, target_flag(), os.environ.get("CXX"))
    if key not in _ids:
        compiler = find_compiler()
        _ids[key] = None if compiler is None else library_path(name, compiler).stem
    return _ids[key]


def library_path(name: str, compiler: str) -> Path:
    """Where the built library of kernel ``name`` lives for this source (with the headers
    the kernels share), compiler and CPU."""
    sources = [(SOURCE_DIR / f"{name}.cpp").read_bytes(),
               *(header.read_bytes() for header in sorted(SOURCE_DIR.glob("*.h")))]
    key = hashlib.sha256(b"\0".join([*sources, compiler.encode(), cpu_fingerprint().encode(),
                                     repr((COMMON_FLAGS, flag_choices())).encode()]))
    return cache_root() / "kernels" / f"{name}-{key.hexdigest()[:16]}.so"


def first_error(stderr: str) -> str:
    """The compiler's first error line (else its last line; empty if it said nothing)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line.lower()), lines[-1] if lines else "")


def remove_abandoned(folder: Path) -> None:
    """Delete temporary files of builds that were killed: any older than a build may take
    (a running build's file is younger)."""
    cutoff = time.time() - BUILD_SECONDS
    for leftover in folder.glob("*.tmp"):
        with contextlib.suppress(OSError):  # another process may remove it first
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def build(name: str, compiler: str, target: Path) -> ctypes.CDLL:
    """Compile ``kernels/<name>.cpp`` into ``target`` (atomically) and load it, with the
    first choice of flags that both compiles and loads; raises RuntimeError with the
    compiler's (or the loader's) message if none does."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target.parent)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    errors = []
    try:
        for extra in flag_choices():
            command = [*shlex.split(compiler), *COMMON_FLAGS, *extra,
                       str(SOURCE_DIR / f"{name}.cpp"), "-o", str(temporary)]
            try:
                done = subprocess.run(command, capture_output=True, text=True,
                                      errors="replace", timeout=BUILD_SECONDS)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise RuntimeError(f"{compiler} could not run: {exc}") from exc
            if done.returncode != 0:
                errors.append(first_error(done.stderr) or f"exit status {done.returncode}")
                continue
            os.replace(temporary, target)
            try:
                return ctypes.CDLL(str(target))
            except OSError as exc:  # built, but its runtime (OpenMP, say) does not load
                errors.append(f"built, but could not be loaded: {exc}")
                target.unlink(missing_ok=True)
    finally:
        temporary.unlink(missing_ok=True)
    raise RuntimeError(f"{compiler} failed: {errors[-1]}")


def _build_and_load(name: str) -> ctypes.CDLL:
    compiler = find_compiler()
    if compiler is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++ or clang++)")
    path = library_path(name, compiler)
    if path.exists():
        try:
            return ctypes.CDLL(str(path))
        except OSError:
            path.unlink(missing_ok=True)  # unreadable (another disk's copy, say): rebuild
    return build(name, compiler, path)


def load_kernel(name: str) -> ctypes.CDLL | None:
    """The loaded library of ``kernels/<name>.cpp`` for the current build target, built on
    first use; None if kernels are turned off or cannot be built here (then with one warning
    per process and reason). Each target's library stays loaded, so a benchmark can switch
    ``$CNNKIT_KERNEL_MARCH`` between rounds in one process."""
    if not kernels_enabled():
        return None
    key = (name, target_flag())
    if key in _loaded:
        return _loaded[key]
    with _lock:
        if key not in _loaded:
            try:
                _loaded[key] = _build_and_load(name)
            except (RuntimeError, OSError) as exc:
                _warn_once(name, str(exc))
                _loaded[key] = None
    return _loaded[key]


def _warn_once(name: str, reason: str) -> None:
    """Warn that kernel ``name`` could not be built, once per reason: a missing compiler
    is one warning, not one per kernel."""
    if reason in _warned:
        return
    _warned.add(reason)
    warnings.warn(f"cnnkit could not build its {name} kernel ({reason}); the layers it "
                  "speeds up run on torch's own ops instead, which is slower. Set "
                  f"{KERNELS_ENV}=0 to use torch's ops without this warning.", stacklevel=3)
