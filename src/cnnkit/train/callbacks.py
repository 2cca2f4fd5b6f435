"""Keras callbacks: the same hooks, arguments and defaults.

A callback sees the model as ``self.model`` (a :class:`cnnkit.models.Sequential`) and may set
``self.model.stop_training = True``. ``state_dict``/``load_state_dict`` let a checkpoint carry
a callback's progress (best value, wait counters) across a resume.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..model_files import check_model_path, check_weights_path


class Callback:
    """Base class: override the hooks you need (``logs`` are Keras-named floats)."""

    model = None
    params: dict | None = None
    trainer = None  # the Trainer running fit() (BackupAndRestore saves and restores it)

    def set_model(self, model) -> None:
        """Called by ``fit()`` before training."""
        self.model = model

    def set_params(self, params: dict) -> None:
        """``epochs``, ``steps`` and ``verbose`` of the current ``fit()``."""
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...

    def state_dict(self) -> dict:
        """Progress worth keeping in a checkpoint (JSON-ready, tensors allowed)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks, model, params: dict):
        self.callbacks = list(callbacks or [])
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for callback in self.callbacks:
                getattr(callback, hook)(*args, **kwargs)
        return call


class _Monitor(Callback):
    """Shared logic of callbacks that watch one logged quantity for improvement."""

    def __init__(self, monitor: str, mode: str, min_delta: float):
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(min_delta)
        self.reset_best()

    def reset_best(self) -> None:
        """Forget the best value seen (each ``fit`` starts afresh, as in Keras)."""
        self.best = math.inf if self.mode == "min" else -math.inf

    def _improved(self, value: float, reference: float | None = None) -> bool:
        reference = self.best if reference is None else reference
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def _value(self, logs) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            import warnings

            warnings.warn(f"{type(self).__name__}: '{self.monitor}' is not in the logs "
                          f"(available: {', '.join(logs or {})}); the callback does nothing",
                          stacklevel=3)
        return value

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` stops improving; optionally restore the best epoch's weights.

    With ``restore_best_weights`` the best weights are restored when training stops early
    and also when it ends because the epochs ran out (as Keras 3 does).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.reset_best()
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.state_snapshot()
        self.wait += 1
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_snapshot()
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_snapshot(self.best_weights)
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.wait = state["best"], state["wait"]
        self.best_epoch, self.best_weights = state["best_epoch"], state["best_weights"]


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without progress."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0):
        if factor >= 1.0:
            raise ConfigError("ReduceLROnPlateau does not support a factor >= 1.0",
                              hint="use a factor such as 0.1 or 0.5")
        super().__init__(monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self.reset_best()
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._value(logs)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best = value
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.model.optimizer.learning_rate
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new:g}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.wait = state["best"], state["wait"]
        self.cooldown_counter = state["cooldown_counter"]


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch (or only when ``monitor`` improves).

    ``filepath`` may hold Keras format fields, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.keras"``.
    As in Keras 3 it must end in ``.keras`` (or ``.weights.h5`` with ``save_weights_only``;
    cnnkit also takes ``.cnnkit``, ``.safetensors`` and, for a model folder, no suffix),
    checked here rather than after the first epoch. Files are written to a temporary name
    and renamed, so a crash never leaves half a file.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str = "epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, 0.0)
        if save_freq != "epoch":
            raise ConfigError("ModelCheckpoint supports save_freq='epoch' only")
        self.filepath = os.fspath(filepath)
        (check_weights_path if save_weights_only else check_model_path)(Path(self.filepath))
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if initial_value_threshold is not None:
            self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = self._value(logs)
            if value is None or not self._improved(value):
                return
            self.best = value
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {path}")


class CSVLogger(Callback):
    """Append one row of logs per epoch to a CSV file (flushed every epoch)."""

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename = Path(filename)
        self.separator = separator
        self.append = append
        self.keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        if not self.append and self.filename.exists():
            self.filename.unlink()
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        exists = self.filename.exists() and self.filename.stat().st_size > 0
        if self.keys is None:
            self.keys = sorted(logs)
        with open(self.filename, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if not exists:
                writer.writerow(["epoch", *self.keys])
            writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])


class TerminateOnNaN(Callback):
    """Stop training when a batch loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start from ``schedule(epoch, lr)`` (or, as Keras
    still allows, ``schedule(epoch)``); the schedule must return a float, as in Keras."""

    def __init__(self, schedule, verbose: int = 0):
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:
            lr = self.schedule(epoch, float(self.model.optimizer.learning_rate))
        except TypeError:  # the one-argument form of older Keras
            lr = self.schedule(epoch)
        if hasattr(lr, "item") and getattr(lr, "ndim", None) == 0:
            lr = lr.item()  # a NumPy or torch scalar
        if isinstance(lr, bool) or not isinstance(lr, float):
            raise ConfigError(f"LearningRateScheduler: the schedule returned {lr!r} for epoch "
                              f"{epoch}; it must return a float",
                              hint="e.g. return float(lr * 0.9)")
        self.model.optimizer.learning_rate = lr
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")
