"""Models: ``Model`` (Keras's functional model), ``Sequential`` (its line-shaped special
case), ``ModuleModel`` (a plain torch module such as a zoo network) and ``load_model``."""

from .loading import load_model
from .model import Model
from .module_model import ModuleModel, register_network
from .saving import ModelFileError
from .sequential import Sequential

__all__ = ["Model", "ModelFileError", "ModuleModel", "Sequential", "load_model",
           "register_network"]
