"""Options shared by several commands, so they read the same everywhere."""

from __future__ import annotations

import argparse


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``-q/--quiet``: no progress bars or notes on stderr; results still go to stdout."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or notes on stderr (results still print)")


def image_size(text: str) -> int | tuple[int, int]:
    """Parse ``S`` (a square side) or ``HxW`` into what the data loaders take."""
    try:
        sides = [int(part) for part in text.lower().split("x")]
    except ValueError:
        sides = []
    if len(sides) not in (1, 2) or min(sides) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an image size: give one positive number (32) or HxW (32x48)")
    return sides[0] if len(sides) == 1 else (sides[0], sides[1])
