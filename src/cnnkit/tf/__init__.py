"""``import cnnkit.tf as tf``: the one line that replaces ``import tensorflow as tf`` in a
Keras CNN script.

``tf.keras`` is :mod:`cnnkit.keras` (``tf.keras.layers``, ``models``, ``datasets``, ``utils``,
``callbacks``, ``optimizers``, ``losses``, ``metrics``, ``Sequential``, ``Input``), and
``from cnnkit.tf.keras.layers import Dense`` works as ``from tensorflow.keras.layers import
Dense`` does. Of TensorFlow itself only what such scripts touch besides Keras is here:
``tf.random.set_seed`` and ``tf.data.AUTOTUNE``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from types import SimpleNamespace

from .. import keras
from ..seeding import set_seed


def _alias_keras_modules() -> None:
    """Register every ``cnnkit.keras`` module under ``cnnkit.tf.keras`` too."""
    sys.modules[f"{__name__}.keras"] = keras
    for info in pkgutil.walk_packages(keras.__path__, f"{keras.__name__}."):
        alias = f"{__name__}.keras.{info.name[len(keras.__name__) + 1:]}"
        sys.modules[alias] = importlib.import_module(info.name)


_alias_keras_modules()

random = SimpleNamespace(set_seed=set_seed)
data = SimpleNamespace(AUTOTUNE=-1)

__all__ = ["data", "keras", "random"]
