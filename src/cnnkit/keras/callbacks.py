"""``keras.callbacks``."""

from ..train.backup_restore import BackupAndRestore
from ..train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from ..train.history import History

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "EarlyStopping", "History",
           "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]
