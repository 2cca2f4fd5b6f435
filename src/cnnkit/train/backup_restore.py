"""``keras.callbacks.BackupAndRestore``: a ``fit()`` that was interrupted continues from its
last finished epoch when the same script runs again.

At the end of every epoch the callback writes a cnnkit checkpoint (train/checkpoint.py:
weights, optimizer state, the loop position, random generator states, callback states)
atomically to ``backup_dir/latest.cnnkit-checkpoint``. When a ``fit()`` begins and that file
exists, training continues from it, so the result equals an uninterrupted run's; as in
Keras, the returned history holds only the epochs run after the restart. When ``fit()``
ends normally, the backup is deleted (``delete_checkpoint=True``). Unlike Keras, which
removes the whole ``backup_dir``, only the file the callback wrote goes, and the folder
only when the callback created it (it leaves a mark file there) and it is empty.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import ConfigError
from .callbacks import Callback
from .checkpoint import CheckpointError, read_checkpoint, set_rng_states, write_checkpoint
from .loop_state import LoopState

BACKUP_FILE = "latest.cnnkit-checkpoint"
CREATED_MARK = ".created-by-cnnkit"  # this callback made the folder (in this or a past run)


class BackupAndRestore(Callback):
    """Back up training at each epoch end; resume from the backup at the next ``fit()``.

    ``save_freq`` must be "epoch"; ``double_checkpoint`` is accepted and needs nothing more
    (each backup is written to a temporary file and renamed, so a crash never leaves a
    broken one).
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True):
        if not backup_dir:
            raise ConfigError("BackupAndRestore needs a backup_dir",
                              hint="e.g. BackupAndRestore(backup_dir='/tmp/backup')")
        if save_freq != "epoch":
            raise ConfigError(f"BackupAndRestore supports save_freq='epoch' only, got "
                              f"{save_freq!r}")
        self.backup_dir = Path(os.fspath(backup_dir))
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint

    @property
    def path(self) -> Path:
        """The backup file."""
        return self.backup_dir / BACKUP_FILE

    def on_train_begin(self, logs=None):
        if self.trainer is None or not self.path.exists():
            return
        state = read_checkpoint(self.path)
        current = self.model.net.state_dict()
        saved = list(state["weights"].values())
        try:
            if [tuple(v.shape) for v in current.values()] != [tuple(v.shape) for v in saved]:
                raise ValueError("weight shapes differ")
            # By position, as Keras restores: a rerun script's layers get new automatic
            # names (conv2d_1, ...), the same shapes.
            self.model.load_snapshot(dict(zip(current, saved, strict=True)))
            self.model.optimizer.load_state(state["optimizer"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(
                f"the backup in {self.backup_dir} was made by a different model or "
                f"optimizer ({type(exc).__name__})",
                hint="delete that backup to start afresh, or pass another backup_dir"
            ) from None
        self.trainer.state = LoopState(**state["loop"])
        callbacks = self.trainer.callbacks.callbacks
        if state.get("callback_types") == [type(c).__name__ for c in callbacks]:
            for callback, saved in zip(callbacks, state["callbacks"], strict=True):
                callback.load_state_dict(saved)
        set_rng_states(state["rng"])

    def on_epoch_end(self, epoch, logs=None):
        if self.trainer is None:
            return
        if not self.backup_dir.exists():
            self.backup_dir.mkdir(parents=True)
            (self.backup_dir / CREATED_MARK).touch()
        state = self.trainer.state_dict()
        state["callback_types"] = [type(c).__name__ for c in self.trainer.callbacks.callbacks]
        write_checkpoint(self.path, state)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        self.path.unlink(missing_ok=True)
        mark = self.backup_dir / CREATED_MARK
        if mark.exists():
            mark.unlink()
            with contextlib.suppress(OSError):  # not empty: the user's files stay
                self.backup_dir.rmdir()
