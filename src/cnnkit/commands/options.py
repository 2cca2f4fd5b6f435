"""Options shared by several commands, so they read the same everywhere."""

from __future__ import annotations

import argparse

from ..data.decode import MAX_SIDE


def add_quiet(parser: argparse.ArgumentParser,
              help: str = "no progress bars or notes on stderr (results still print)") -> None:
    """``-q/--quiet``: no progress bars or notes on stderr; results still go to stdout."""
    parser.add_argument("-q", "--quiet", action="store_true", help=help)


class _GivenOnce(argparse.Action):
    """Stores the data path given as the positional argument or as ``--data``, and refuses
    it given both ways (or twice)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if values is None:  # the optional positional, left out
            return
        given = getattr(namespace, self.dest)
        if given is not None:
            raise argparse.ArgumentError(
                None, f"the data is given twice ({given} and {values}): give it once, as the "
                      "first argument (PATH) or with --data PATH, not both")
        setattr(namespace, self.dest, values)


def add_data(parser: argparse.ArgumentParser, help: str,
             group: argparse._ArgumentGroup | None = None) -> None:
    """The data a command reads: ``cnnkit CMD PATH`` or ``cnnkit CMD --data PATH`` (the same;
    giving both is a usage error). Absent, ``args.data`` is None (see :func:`require_data`)."""
    parser.add_argument("data", nargs="?", action=_GivenOnce, metavar="PATH|NAME",
                        help=f"{help}; also --data PATH")
    (group or parser).add_argument("--data", dest="data", action=_GivenOnce, default=None,
                                   metavar="PATH|NAME", help="the same as the PATH argument")
    parser.set_defaults(usage_error=parser.error)


def require_data(args: argparse.Namespace) -> str:
    """``args.data``; without it, the command's usage error (exit code 2)."""
    if args.data is None:
        args.usage_error("no data given: pass PATH|NAME (or --data PATH|NAME)")
    return args.data


def _dimensions(text: str) -> list[int]:
    """The numbers of ``A`` or ``AxB...``; empty unless every one is a positive integer."""
    try:
        numbers = [int(part) for part in text.lower().split("x")]
    except ValueError:
        return []
    return numbers if min(numbers) >= 1 else []


def image_size(text: str) -> int | tuple[int, int]:
    """Parse ``S`` (a square side) or ``HxW`` into what the data loaders take."""
    sides = _dimensions(text)
    if len(sides) not in (1, 2):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an image size: give one positive number (32) or HxW (32x48)")
    if max(sides) > MAX_SIDE:
        raise argparse.ArgumentTypeError(
            f"{text} is too large: image sides go up to {MAX_SIDE} pixels")
    return sides[0] if len(sides) == 1 else (sides[0], sides[1])


def input_shape(text: str) -> tuple[int, int, int]:
    """Parse ``HxWxC`` (``28x28x1``) into a model's input shape."""
    dims = _dimensions(text)
    if len(dims) != 3:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an input shape: give height x width x channels, e.g. 28x28x1")
    return dims[0], dims[1], dims[2]


def positive_int(text: str) -> int:
    """Parse a whole number of at least 1 (a batch size, a count)."""
    dims = _dimensions(text)
    if len(dims) != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return dims[0]


def add_saved_model(parser: argparse.ArgumentParser) -> None:
    """The positional ``MODEL`` argument of commands that need a trained model."""
    parser.add_argument("model", metavar="MODEL",
                        help="a saved model: a folder with model.json, or a .keras file")
