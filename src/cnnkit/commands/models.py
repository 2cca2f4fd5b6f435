"""``cnnkit models``: the built-in architectures with their size and cost."""

from __future__ import annotations

import argparse

from ..tables import format_table

EXAMPLES = """examples:
  cnnkit models
  cnnkit models resnet
  cnnkit summary resnet50 --input-shape 224x224x3
  cnnkit train photos/ --model resnet18"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit models``."""
    parser = subparsers.add_parser(
        "models", help="list the built-in architectures (parameters, input size, cost)",
        description="List the built-in architectures: the Keras tutorials' CNNs and the "
                    "famous families (LeNet-5 to ConvNeXt), with their parameters, default "
                    "input size and multiply-adds per image. Any name works with --model; "
                    "torchvision's and Keras's spellings (resnet50, ResNet50) are accepted.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("filter", nargs="?", metavar="TEXT",
                        help="list only names or families containing TEXT (e.g. resnet)")
    parser.set_defaults(run=run_models)


def run_models(args: argparse.Namespace) -> int:
    """Print the table; returns 0 (1 when the filter matches nothing)."""
    from .. import zoo
    from ..zoo.measure import describe, labels

    wanted = (args.filter or "").lower()
    rows = []
    for name in zoo.names():
        family, also_called = labels(name)
        if wanted in name or wanted in family or wanted in also_called.lower():
            row = describe(name)
            rows.append((row.name, row.family, row.params,
                         "x".join(map(str, row.input_shape)), row.classes,
                         _multiply_adds(row.macs), row.also_called))
    if not rows:
        print(f"no built-in architecture matches {args.filter!r}; 'cnnkit models' lists all")
        return 1
    header = ("name", "family", "parameters", "input", "classes", "MACs", "also called")
    print("\n".join(format_table(header, rows)))
    return 0


def _multiply_adds(count: int) -> str:
    return f"{count / 1e9:.2f} G" if count >= 1e8 else f"{count / 1e6:.1f} M"
