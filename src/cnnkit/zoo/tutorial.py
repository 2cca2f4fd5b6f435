"""The CNNs of the Keras tutorials, and a modern small CNN, as ``Sequential`` models."""

from __future__ import annotations

from .. import layers as L
from ..models import Sequential


def tutorial_mnist(input_shape=(28, 28, 1), num_classes: int = 10, dropout: float = 0.0
                   ) -> Sequential:
    """The Keras MNIST tutorial CNN (225,034 parameters on 28x28x1, 10 classes).

    ``dropout`` > 0 adds ``Dropout(dropout)`` before each Dense layer.
    """
    stack = [L.Input(tuple(input_shape)),
             L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
             L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
             L.Flatten()]
    stack += [L.Dropout(dropout)] if dropout else []
    stack += [L.Dense(128, activation="relu")]
    stack += [L.Dropout(dropout)] if dropout else []
    stack += [L.Dense(num_classes, activation="softmax")]
    return Sequential(stack)


def tutorial_cifar10(input_shape=(32, 32, 3), num_classes: int = 10) -> Sequential:
    """The Keras/TensorFlow CIFAR-10 tutorial CNN (122,570 parameters on 32x32x3)."""
    return Sequential([
        L.Input(tuple(input_shape)),
        L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.Flatten(),
        L.Dense(64, activation="relu"),
        L.Dense(num_classes, activation="softmax"),
    ])


def small_cnn(input_shape=(32, 32, 3), num_classes: int = 10, width: int = 32,
              dropout: float = 0.3) -> Sequential:
    """A modern small CNN: 'same' padding, BatchNormalization, global average pooling.

    Three stages of two 3x3 conv-BN-ReLU blocks (``width``, 2x, 4x filters), max pooling
    between stages, then global average pooling, Dropout and the classifier.
    BatchNormalization uses momentum 0.9 (Keras's default is 0.99): its moving statistics
    then settle within ~50 steps, so evaluation is right after one short epoch on a small
    dataset, where 0.99 still carries a tenth of the initial statistics after 230 steps.
    """
    stack: list = [L.Input(tuple(input_shape))]
    for stage in range(3):
        filters = width * 2**stage
        for _ in range(2):
            stack += [L.Conv2D(filters, 3, padding="same", use_bias=False),
                      L.BatchNormalization(momentum=0.9), L.Activation("relu")]
        if stage < 2:
            stack.append(L.MaxPooling2D(2))
    stack += [L.GlobalAveragePooling2D(), L.Dropout(dropout),
              L.Dense(num_classes, activation="softmax")]
    return Sequential(stack)
