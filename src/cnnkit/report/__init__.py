"""The HTML report of a training run: curves, diagnosis, confusion matrix, per-class scores,
the worst images, sample images, the model, the data and the settings (docs/report.md).

``cnnkit.report(run_dir)`` (this module is callable) and ``write_report(run_dir)`` write
``run_dir/report.html``, one self-contained file, and each plot as ``run_dir/report/*.png``.
"""

from __future__ import annotations

import sys
import types

from .write import write_report

__all__ = ["write_report"]


class _CallableModule(types.ModuleType):
    """Lets ``cnnkit.report`` be both this package and the function that writes a report,
    whichever is imported first: calling it calls :func:`write_report`."""

    __call__ = staticmethod(write_report)


sys.modules[__name__].__class__ = _CallableModule
