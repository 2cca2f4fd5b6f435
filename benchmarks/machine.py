"""What a result was measured on: CPU model, cores, load, threads and library versions.

Every benchmark result carries this, because numbers from different machines, or from the
same machine under different load, are not comparable.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

import cnnkit

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo (the platform's processor name elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags_of_interest() -> list[str]:
    """The SIMD flags that decide fp32/bf16 kernel speed (AVX2, AVX-512, AMX, ...)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))


def git_revision() -> str:
    """The checked-out commit of cnnkit, with ``+dirty`` when the work tree has changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    return revision + ("+dirty" if git("status", "--porcelain", "--untracked-files=no")
                       else "")


def thread_environment() -> dict[str, str]:
    """The environment variables that change how OpenMP/MKL threads wait and spread."""
    return {k: v for k, v in os.environ.items()
            if k.startswith(("OMP_", "GOMP_", "KMP_", "MKL_", "TF_NUM_"))}


def describe() -> dict:
    """The machine and software of this run (``keras_venv`` is filled in by the runner)."""
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags_of_interest(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "torch_threads": torch.get_num_threads(),
        "thread_environment": thread_environment(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cnnkit": f"{cnnkit.__version__} ({git_revision()})",
        "keras_venv": None,
    }


def one_line(info: dict) -> str:
    """The machine and versions in one printable line."""
    keras = info.get("keras_venv") or {}
    keras_text = (f", Keras {keras['keras']} on TensorFlow {keras['tensorflow']}"
                  if keras else "")
    load = info["load_average_at_start"][0]
    if "load_average_at_end" in info:
        load = f"{load} -> {info['load_average_at_end'][0]}"
    return (f"{info['cpu']}, {info['usable_cores']} cores, load average {load}"
            f"; Python {info['python']}, torch {info['torch']} ({info['torch_threads']} "
            f"threads), NumPy {info['numpy']}, cnnkit {info['cnnkit']}{keras_text}")
