"""The separate venv in which Keras 3 runs on TensorFlow: ``benchmarks/.venv-keras``.

TensorFlow must never be installed next to cnnkit's torch (it pins its own NumPy and
protobuf), so the Keras side of the benchmarks lives in its own venv, created with
``python3 -m venv`` and filled from PyPI. It is git-ignored. Creating it is idempotent:
when ``import keras, tensorflow`` already works there, nothing is done.

    python benchmarks/keras_env.py        # create or check it; prints the versions
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv-keras"
# Pinned so that a rerun measures the same Keras; the versions of the recorded results.
PACKAGES = ("tensorflow-cpu==2.21.0", "keras==3.15.1")
VERSIONS = ("import json, keras, numpy, tensorflow; print(json.dumps({'keras': "
            "keras.__version__, 'tensorflow': tensorflow.__version__, 'numpy': "
            "numpy.__version__, 'backend': keras.backend.backend()}))")


def python() -> Path:
    """The venv's interpreter."""
    return VENV / "bin" / "python"


def environment() -> dict[str, str]:
    """This process's environment with Keras on TensorFlow and TensorFlow's logging quiet."""
    return {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}


def versions() -> dict | None:
    """Keras, TensorFlow and NumPy versions in the venv, or None when it is not usable."""
    if not python().exists():
        return None
    done = subprocess.run([str(python()), "-c", VERSIONS], capture_output=True, text=True,
                          env=environment())
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python()), "-m", "pip", *args], capture_output=True, text=True)


def ensure(log=print) -> dict:
    """Create the venv and install TensorFlow and Keras when needed; return their versions.

    Raises RuntimeError, saying why, when PyPI has no tensorflow-cpu wheel for this Python
    or the installation fails.
    """
    found = versions()
    if found is not None:
        return found
    log(f"creating the Keras venv in {VENV} (TensorFlow is about 250 MB; a few minutes)")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    _pip("install", "--quiet", "--upgrade", "pip")
    name = PACKAGES[0].split("==")[0]
    listed = _pip("index", "versions", name)
    if listed.returncode != 0:
        raise RuntimeError(f"PyPI has no {name} wheel for Python "
                           f"{sys.version_info.major}.{sys.version_info.minor} on this "
                           f"platform:\n{listed.stderr.strip()}")
    installed = _pip("install", "--quiet", "--only-binary=:all:", *PACKAGES)
    if installed.returncode != 0:
        raise RuntimeError(f"installing {' '.join(PACKAGES)} failed:\n"
                           f"{installed.stderr.strip()[-2000:]}")
    found = versions()
    if found is None:
        raise RuntimeError(f"{' '.join(PACKAGES)} installed, but `import keras, tensorflow` "
                           f"fails in {python()}")
    return found


if __name__ == "__main__":
    print(json.dumps(ensure()))
