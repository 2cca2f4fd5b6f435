"""Models: ``Sequential`` and ``load_model``."""

from .loading import load_model
from .saving import ModelFileError
from .sequential import Sequential

__all__ = ["ModelFileError", "Sequential", "load_model"]
