"""Named 3x3 kernels for the convolution playground, and kernels written as text."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..naming import did_you_mean

KERNELS: dict[str, np.ndarray] = {
    "blur": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "sobel-x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "sobel-y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
}

KERNEL_HELP = ("a named kernel (" + ", ".join(KERNELS) + ") or a matrix with rows separated "
               "by ';', e.g. \"0.1 0.1 0.1; 0.1 0.1 0.1; 0.1 0.1 0.1\"")


def parse_kernel(text: str) -> np.ndarray:
    """A float64 2-D kernel from a name in :data:`KERNELS` or from rows of numbers.

    Rows are separated by ``;`` (or new lines), numbers by spaces or commas:
    ``"1 0 -1; 2 0 -2; 1 0 -1"``. Every row must have the same length.
    """
    name = text.strip().lower()
    if name in KERNELS:
        return KERNELS[name].copy()
    rows = [row.replace(",", " ").split() for row in text.replace("\n", ";").split(";")]
    rows = [row for row in rows if row]
    try:
        numbers = [[float(value) for value in row] for row in rows]
    except ValueError:
        if len(rows) == 1 and len(rows[0]) == 1:  # one word: a misspelt name
            raise ConfigError(f"unknown kernel {text!r}",
                              hint=did_you_mean(name, KERNELS)) from None
        raise ConfigError(f"kernel {text!r} is not a matrix of numbers",
                          hint=f"give {KERNEL_HELP}") from None
    if not numbers:
        raise ConfigError("the kernel is empty", hint=f"give {KERNEL_HELP}")
    lengths = sorted({len(row) for row in numbers})
    if len(lengths) > 1:
        raise ConfigError(f"kernel {text!r} has rows of different lengths ({lengths[0]} to "
                          f"{lengths[-1]} numbers)", hint="give every row the same number of "
                                                           "values")
    kernel = np.array(numbers, dtype=np.float64)
    if not np.isfinite(kernel).all():
        raise ConfigError(f"kernel {text!r} holds a value that is not a finite number")
    return kernel
