"""Keras-compatible names: ``from cnnkit.keras import datasets``."""

from . import datasets

__all__ = ["datasets"]
