"""``keras.datasets`` look-alikes: ``mnist``, ``fashion_mnist`` and ``cifar10``, each with a
``load_data()`` that returns the arrays Keras returns, with the same shapes and dtypes.

The files are found as :mod:`cnnkit.data.builtin` describes (``$CNNKIT_DATA``, the cache,
system folders, else a verified download).
"""

from . import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
