"""``keras.optimizers``."""

from ..train.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, get

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "get"]
