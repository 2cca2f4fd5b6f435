"""cnnkit: convolutional neural networks for image classification, Keras-style on PyTorch."""

__version__ = "0.1.0"
