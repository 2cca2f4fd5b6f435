"""``keras.layers``: every cnnkit layer under its Keras name."""

from ..layers import *  # noqa: F403
from ..layers import __all__  # noqa: F401
