"""cnnkit: convolutional neural networks for image classification, Keras-style on PyTorch."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``cnnkit.report(run_dir)`` writes a run's HTML report; it is imported on first use,
    so that ``import cnnkit`` stays light."""
    if name == "report":
        import importlib

        return importlib.import_module(".report", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
