"""One call seeds every random number generator a run uses."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (Keras's ``set_random_seed``).

    Weight initialisation, dropout, augmentation and the shuffling order of ``fit()`` all
    draw from these, so the same seed gives the same run.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
