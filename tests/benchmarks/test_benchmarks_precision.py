"""``benchmarks/precision.py`` measures fp32 against bf16 through the public ``fit()`` API.

It used to call the private ``Trainer.train_step`` without the setup ``fit()`` does, and
crashed at its first step (issue 26). Here it runs as a user runs it, on a small real
CIFAR-10 sample, with the CIFAR-10 tutorial CNN; the speeds themselves are not checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "precision.py"


def write_tree(sample: dict[str, dict[str, list[bytes]]], root: Path) -> Path:
    """The sample as ``root/<split>/<class>/<n>.jpg``, the reference archive's layout."""
    for split, classes in sample.items():
        for name, files in classes.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for n, data in enumerate(files):
                (folder / f"{n}.jpg").write_bytes(data)
    return root


def test_prints_both_precisions_speeds_per_batch_size(cifar_sample, tmp_path):
    dataset = write_tree(cifar_sample, tmp_path / "cifar-sample")
    images = sum(map(len, cifar_sample["train"].values())) + 8  # the images repeat
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1",
           "CNNKIT_KERNELS": "0",  # no compile of the C++ kernels in this fresh cache
           "CNNKIT_PRECISION": "fp32"}  # the benchmark sets each model's precision itself
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dataset", str(dataset), "--images", str(images),
         "--batch", "16", "--batch", "24", "--repeats", "2", "--warmup-batches", "1"],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["batch"] for line in lines] == [16, 24]
    for line in lines:
        assert line["model"] == "tutorial-cifar10"
        assert line["images"] == images and line["repeats"] == 2
        assert line["fp32_img_s"] > 0 and line["bf16_img_s"] > 0
        assert line["bf16_over_fp32"] > 0
        assert isinstance(line["native_bf16"], bool)
