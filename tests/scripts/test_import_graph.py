"""scripts/check_imports.py: cnnkit's import graph has no cycle, no upward import and no
private name imported across modules; and the checker finds each of those."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_imports.py"


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cnnkit_passes():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "0 problem(s)" in done.stderr


def write(root: Path, files: dict[str, str]) -> Path:
    package = root / "cnnkit"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_a_function_level_cycle_is_found(checker, tmp_path):
    package = write(tmp_path, {
        "train/__init__.py": "", "train/loop.py": "from .threads import Tuner\n",
        "train/threads.py": "def f():\n    from .loop import Trainer\n"})
    assert checker.problems(package) == [
        "import cycle: cnnkit.train.loop <-> cnnkit.train.threads"]


def test_upward_and_sideways_imports_are_found(checker, tmp_path):
    package = write(tmp_path, {
        "train/__init__.py": "", "models/__init__.py": "", "zoo.py": "",
        "train/run.py": "def f():\n    from ..models import load_model\n",
        "evaluation.py": "from . import zoo\n"})
    assert checker.problems(package) == [
        "cnnkit/evaluation.py:1: sideways import of cnnkit.zoo (evaluation is on layer 10, "
        "zoo on layer 10)",
        "cnnkit/train/run.py:2: upward import of cnnkit.models (train is on layer 8, models "
        "on layer 9)"]


def test_a_private_name_from_another_module_is_found(checker, tmp_path):
    package = write(tmp_path, {
        "data/__init__.py": "", "data/decode.py": "def _fit():\n    pass\n",
        "data/arrays.py": "from .decode import _fit\n"})
    assert checker.problems(package) == [
        "cnnkit/data/arrays.py:1: private name _fit imported from cnnkit.data.decode"]
