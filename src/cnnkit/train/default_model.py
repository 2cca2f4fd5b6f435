"""The model ``cnnkit train`` chooses from the training images when no ``--model`` is given.

Small images (at most :data:`SMALL_SIDE` px on the long side) and grayscale images get
``small-cnn`` at their own size. Larger colour photos get ``small-cnn`` too, trained from
scratch at the photos' size (the ``--image-size`` default: the most common size); the
message points to ``--pretrained`` (docs/transfer-learning.md), which needs the optional
weights. The run logs the choice in one line and records it in ``config.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass

SMALL_SIDE = 64
OVERRIDE = "pass --model NAME to choose another"


@dataclass(frozen=True)
class ModelChoice:
    """A built-in architecture chosen for the data, and the line that says why."""

    name: str
    image_size: tuple[int, int]
    message: str


def choose_model(image_shape: tuple[int, int, int]) -> ModelChoice:
    """The default model for training images of ``image_shape`` (H, W, C)."""
    height, width, channels = image_shape
    shape = f"{height}x{width}x{channels}"
    if channels == 1 or max(height, width) <= SMALL_SIDE:
        kind = "grayscale" if channels == 1 else f"at most {SMALL_SIDE} px"
        reason = f"small images ({height}x{width}, {kind})"
        message = f"model: small-cnn at {shape}, chosen from the data: {reason}; {OVERRIDE}"
    else:
        message = (f"model: small-cnn at {shape}, chosen from the data: colour photos "
                   f"({height}x{width}), trained from scratch (--model efficientnet-lite0 "
                   f"--pretrained starts from ImageNet weights instead); {OVERRIDE}, "
                   f"--image-size S for another input size")
    return ModelChoice("small-cnn", (height, width), message)
