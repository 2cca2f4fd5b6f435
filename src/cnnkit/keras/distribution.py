"""``keras.distribution``'s data parallelism for scripts started by ``torchrun``::

    from cnnkit.keras import distribution
    distribution.set_distribution(distribution.DataParallel())   # or fit(distribution=...)
    model.fit(x, y, batch_size=64)     # 64 = the global batch, 64 / N per process

Run with ``torchrun --nproc_per_node=N script.py``: each process trains on its rows of every
batch and the gradients are averaged (train/distributed.py, docs/scaling.md). Every process
runs the whole script: save files from ``DataParallel().rank == 0`` only.
"""

from ..train.distributed import DataParallel, default_distribution, set_distribution

__all__ = ["DataParallel", "default_distribution", "set_distribution"]
