"""Errors that speak the user's language.

Every error cnnkit raises on purpose is a :class:`CnnkitError`. It carries a message that
names the file, layer or option at fault and a ``hint`` that says what to do. The command
line prints both and exits with the class's ``exit_code`` instead of a traceback.
"""

from __future__ import annotations

MAX_TEXT = 2000  # characters of a message or hint; user values can be megabytes long


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut in the middle to at most about ``limit`` characters, saying how much was
    cut, so an error that quotes a huge user value stays readable."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]} ...[{len(text) - 2 * keep:,} characters cut]... {text[-keep:]}"


class CnnkitError(Exception):
    """Base class for errors caused by user input, with a hint on how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        message = shorten(str(message))
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else shorten(str(hint))

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class DataError(CnnkitError):
    """A dataset cannot be read: missing path, unknown format, inconsistent files."""

    exit_code = 3


class BadImageError(DataError):
    """One file could not be used as an image (raised in strict mode)."""

    def __init__(self, path: str, reason: str, detail: str = ""):
        message = f"{path}: {reason}" + (f" ({detail})" if detail else "")
        super().__init__(message, hint="fix or remove the file, or load without strict=True "
                         "to skip bad files and count them")
        self.path = path
        self.reason = reason
        self.detail = detail


class ConfigError(CnnkitError):
    """An unknown name or an invalid option: optimizer, loss, metric, schedule, flag."""

    exit_code = 2


class ShapeError(CnnkitError):
    """Data that does not fit the model: wrong input shape, labels out of range, x/y lengths."""

    exit_code = 5


class TrainingError(CnnkitError):
    """Training cannot go on, e.g. the loss became NaN or infinite."""

    exit_code = 6


class LayerError(CnnkitError):
    """A layer cannot be made or used: unknown name or argument, or an impossible shape."""

    exit_code = 4


class LayerShapeError(LayerError):
    """The input is too small for a layer: the image shrinks below 1x1 on the way."""


class WeightsError(CnnkitError):
    """Pretrained weights cannot be had or used: package missing, download failed, a file
    that is not a state dict, was tampered with, or does not fit the network."""

    exit_code = 8
