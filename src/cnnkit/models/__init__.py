"""Models: ``Sequential`` and ``load_model``."""

from .saving import ModelFileError, load_model
from .sequential import Sequential

__all__ = ["ModelFileError", "Sequential", "load_model"]
