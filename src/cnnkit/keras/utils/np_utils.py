"""``keras.utils.np_utils``: where tf.keras 2 tutorials import ``to_categorical`` from
(``from keras.utils.np_utils import to_categorical``); the same function as
``keras.utils.to_categorical``."""

from . import to_categorical

__all__ = ["to_categorical"]
