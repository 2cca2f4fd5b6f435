"""The names of model and weight files, by Keras 3's rules, and the error about model files.

A model is saved as a folder (a path without a suffix) or as one zip file ending in
``.keras`` (Keras 3's name) or ``.cnnkit``; weights alone as ``NAME.weights.h5`` (the name
Keras 3 requires; cnnkit writes safetensors inside) or ``NAME.safetensors``. ``.h5`` alone
is Keras's legacy HDF5, which cnnkit does not write. The rules sit below the models and the
callbacks, so that ``ModelCheckpoint`` can refuse a name before its first epoch.
"""

from __future__ import annotations

from pathlib import Path

from .errors import CnnkitError

ARCHIVE_SUFFIXES = (".keras", ".cnnkit")
HDF5_SUFFIXES = (".h5", ".hdf5")
WEIGHT_SUFFIXES = (".weights.h5", ".safetensors")


class ModelFileError(CnnkitError):
    """A model file that is missing, damaged or not a cnnkit model."""

    exit_code = 7


def check_model_path(path: Path) -> None:
    """Refuse a model path whose suffix is neither an archive's nor empty (a folder)."""
    suffix = path.suffix.lower()
    if suffix in HDF5_SUFFIXES:
        raise ModelFileError(f"cannot save the model as {path}: {suffix} is Keras's legacy "
                             "HDF5 format, which cnnkit does not write",
                             hint=f"save as {path.stem}.keras (Keras 3's format, read back by "
                                  "load_model), or under a name without a suffix for a folder")
    if suffix and suffix not in ARCHIVE_SUFFIXES:
        raise ModelFileError(f"cannot save the model as {path}: unknown suffix {suffix!r}",
                             hint=f"use {path.stem}.keras (one file, as in Keras 3) or "
                                  f"{path.stem}.cnnkit, or a name without a suffix for a folder")


def check_weights_path(path: Path) -> None:
    """Refuse a weights file name Keras 3 would refuse (it must end in ``.weights.h5``);
    ``.safetensors`` is cnnkit's own name for the same file."""
    if not path.name.lower().endswith(WEIGHT_SUFFIXES):
        raise ModelFileError(f"cannot save weights as {path}: the file name must end in "
                             ".weights.h5 (as Keras 3 requires) or .safetensors",
                             hint=f"e.g. save_weights('{path.stem}.weights.h5') (cnnkit writes "
                                  "safetensors inside); to save the whole model use "
                                  f"model.save('{path.stem}.keras')")
