"""Run ``cnnkit train`` in a subprocess on the embedded Fashion-MNIST slice, and compare
the weights two runs end with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from safetensors.numpy import load_file

# A small CNN with Dropout, so the resume tests also cover the dropout random stream. The
# second convolution has 8 input channels: its weights are channels_last in memory, unlike
# the checkpoint's copy of the optimizer state (a layout the fused optimizers must get back).
SPEC = """\
- Conv2D: {filters: 8, kernel_size: 3, activation: relu}
- MaxPooling2D: {pool_size: 2}
- Conv2D: {filters: 8, kernel_size: 3, activation: relu}
- Flatten
- Dropout: {rate: 0.3}
- Dense: {units: auto, activation: softmax}
"""


def write_spec(folder: Path) -> Path:
    """The test model as a layer-spec file."""
    path = folder / "tiny.yaml"
    path.write_text(SPEC)
    return path


def train_command(out: Path, spec: Path, *extra: str) -> list[str]:
    """A deterministic, frequently checkpointed run: 3 epochs on 2,250 real images, with
    augmentation, one thread."""
    return [sys.executable, "-m", "cnnkit", "train", "--data", "fashion-mnist-mini",
            "--model", str(spec), "--epochs", "3", "--fraction", "0.5", "--batch-size", "32",
            "--augment", "flip,crop", "--deterministic", "--threads", "1", "--seed", "5",
            "--checkpoint-steps", "4", "--out", str(out), "--quiet", *extra]


def environment(cache: Path) -> dict:
    """The test process's environment with an isolated cache."""
    return {**os.environ, "CNNKIT_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}


def run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    """Run to completion; fail with its output if it fails."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def final_weights(run_dir: Path) -> dict:
    """The tensors of ``model/last``."""
    return load_file(run_dir / "model" / "last" / "weights.safetensors")
