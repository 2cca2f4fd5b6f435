"""``cnnkit data``: look at a dataset before training on it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .options import add_data, add_quiet, image_size, require_data

SOURCE_HELP = ("a folder of class folders, an archive (.zip, .tar, .tar.gz) of one, a .csv "
               "list, an .npz or IDX file, or a built-in dataset name (mnist, fashion-mnist, "
               "cifar10, fashion-mnist-mini)")
INSPECT_EXAMPLES = """examples:
  cnnkit data inspect photos/
  cnnkit data inspect cifar10-jpg.tar.gz --json > cifar.json
  cnnkit data inspect mnist --image-size 32 --quiet"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit data`` and its subcommands."""
    parser = subparsers.add_parser(
        "data", help="look at a dataset: counts, sizes, duplicates, leakage, bad files",
        description="Look at a dataset before training on it.")
    actions = parser.add_subparsers(title="data commands", dest="data_command",
                                    metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect", help="images per class and split, sizes, modes, duplicates, skipped files",
        description="Load a dataset (decoding it once into the cache) and report images per\n"
                    "class and split, class imbalance, original sizes and modes, exact\n"
                    "duplicates within and across splits (train/test leakage) and every\n"
                    "file skipped, with the reason.",
        epilog=INSPECT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data(inspect, SOURCE_HELP)
    inspect.add_argument("--json", action="store_true", help="print JSON instead of tables")
    inspect.add_argument("--image-size", type=image_size, metavar="S",
                         help="decode images at S x S (or HxW) pixels; default: the most "
                              "common size in the dataset")
    add_quiet(inspect)
    inspect.set_defaults(run=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    """Print what ``args.data`` holds, as tables or JSON."""
    from ..data.inspect import inspect
    from ..data.inspect_text import format_inspection

    source = require_data(args)
    result = inspect(load_for_inspection(source, args.image_size, not args.quiet))
    if args.json:
        print(json.dumps({"source": source, **result}, indent=2))
    else:
        print(format_inspection(result, source))
    return 0


def load_for_inspection(source: str, image_size, progress: bool) -> dict:
    """Every split of ``source``. Unlike training, inspection accepts a tree of one class."""
    from ..data import load_splits
    from ..data.idx import find_idx_pairs
    from ..data.sources import is_archive
    from ..data.tree import load_tree

    path = Path(source)
    if (path.is_dir() and not find_idx_pairs(path)) or (path.is_file() and is_archive(path)):
        return load_tree(path, image_size=image_size, progress=progress, min_classes=1)
    return load_splits(source, image_size=image_size, progress=progress)
