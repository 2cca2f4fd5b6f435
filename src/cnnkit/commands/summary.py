"""``cnnkit summary``: the Keras summary table of a built-in model, a spec file or a saved
model."""

from __future__ import annotations

import argparse

from .options import input_shape

DEFAULT_CLASSES = 10
EXAMPLES = """examples:
  cnnkit summary tutorial-mnist --input-shape 28x28x1
  cnnkit summary small-cnn --input-shape 64x64x3 --classes 5
  cnnkit summary resnet50 --input-shape 224x224x3
  cnnkit summary my-cnn.yaml --input-shape 32x32x3
  cnnkit summary runs/small-cnn-photos/model/best"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit summary``."""
    parser = subparsers.add_parser(
        "summary", help="print a model's layers, output shapes and parameter counts",
        description="Print the Keras summary table (layers, output shapes, parameters) of a "
                    "built-in architecture, a layer-spec file or a saved model.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.set_defaults(run=run_summary)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``MODEL|SPEC``, ``--input-shape`` and ``--classes``, read by :func:`model_from_args`."""
    parser.add_argument("model", metavar="MODEL|SPEC",
                        help="a built-in architecture (tutorial-mnist, small-cnn, "
                             "resnet50, ...: 'cnnkit models' lists them), a layer-spec "
                             ".yaml/.json file or a saved model")
    parser.add_argument("--input-shape", type=input_shape, metavar="HxWxC",
                        help="image height x width x channels, e.g. 28x28x1 (needed unless "
                             "the spec or the saved model gives it; a famous architecture "
                             "has a default, e.g. 224x224x3)")
    parser.add_argument("--classes", type=int, metavar="N",
                        help=f"number of classes (default {DEFAULT_CLASSES}; a saved model "
                             "has its own)")


def run_summary(args: argparse.Namespace) -> int:
    """Print the table; returns 0."""
    model_from_args(args).summary()
    return 0


def model_from_args(args: argparse.Namespace):
    """The model ``args.model`` names, built for ``args.input_shape`` and ``args.classes``
    (default 10 unless it is a saved model, which has its own)."""
    from ..spec import is_saved_model, resolve_model

    classes = args.classes
    if classes is None and not is_saved_model(args.model):
        classes = DEFAULT_CLASSES
    return resolve_model(args.model, args.input_shape, classes)
