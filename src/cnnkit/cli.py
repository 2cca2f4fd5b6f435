"""``cnnkit <command>``: parse the command line, run the command, turn errors into messages.

The command groups live in :mod:`cnnkit.commands`, one module each (see its docstring); this
module only dispatches. Errors cnnkit raises on purpose print as ``error: <message>`` and
``hint: <what to do>`` on stderr and exit with the error class's ``exit_code``; Ctrl-C exits
with 130, and output cut short by a closed pipe (``cnnkit predict ... | head``) with 141.
The conventions are written up in docs/cli.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import CnnkitError

COMMANDS = ("data", "demo", "train", "predict", "summary", "evaluate", "explain", "report",
            "models", "recipes", "export", "serve")
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as for shell tools whose reader went away
EXIT_OUT_OF_MEMORY = 9  # MemoryError: prints what to shrink, no traceback


def build_parser() -> argparse.ArgumentParser:
    """The parser for every command, each group added by its module in cnnkit.commands."""
    parser = argparse.ArgumentParser(
        prog="cnnkit",
        description="Convolutional neural networks for image classification: Keras-style "
                    "models on a PyTorch CPU engine.")
    parser.add_argument("--version", action="version", version=f"cnnkit {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                       required=True)
    for name in COMMANDS:
        importlib.import_module(f"cnnkit.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``cnnkit`` with ``argv`` (default: the process arguments); returns the exit code."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `train --nproc` passes it on
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
        return code
    except CnnkitError as err:
        print(f"error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return err.exit_code
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        print("hint: use a smaller --batch-size or --image-size, or a smaller model",
              file=sys.stderr)
        return EXIT_OUT_OF_MEMORY
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout stopped (``| head``): not an error. Point stdout at /dev/null
        # so that Python's flush at exit does not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
