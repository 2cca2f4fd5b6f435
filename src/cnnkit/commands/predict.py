"""``cnnkit predict``: the most likely classes of image files, by a trained model."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from .options import add_quiet, add_saved_model

EXAMPLES = """examples:
  cnnkit predict runs/small-cnn-photos/model/best cat.jpg
  cnnkit predict model.keras photos/ --top-k 1
  cnnkit predict model.keras photos.zip --csv > predictions.csv
  cnnkit predict model.keras photos/ --top-k all --json"""


def top_k(text: str) -> int | None:
    """A positive number of classes, or ``all`` (None)."""
    if text.lower() == "all":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a number of classes: give 1, 2, ... "
                                     "or all")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit predict``."""
    parser = subparsers.add_parser(
        "predict", help="print the most likely classes of image files",
        description="Predict the classes of an image file, of every image in a folder "
                    "(searched recursively) or of every image in a .zip/.tar/.tar.gz archive. "
                    "Images are resized and converted to the model's input size and channels. "
                    "Files that cannot be read are named on stderr and counted; the rest are "
                    "predicted.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_saved_model(parser)
    parser.add_argument("source", metavar="IMAGE|DIR|ARCHIVE",
                        help="an image file, a folder of images or an archive of them")
    parser.add_argument("--top-k", type=top_k, default=3, metavar="K",
                        help="classes to show per image, most likely first (default 3; 'all' "
                             "for every class)")
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true",
                         help="print a JSON list of {path, predictions: [{class, probability}]}")
    formats.add_argument("--csv", action="store_true",
                         help="print CSV rows: path,rank,class,probability")
    parser.add_argument("--batch-size", type=int, default=256, metavar="N",
                        help="images per forward pass (default 256)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="run full batches through torch.compile (compiled code is cached "
                             "under $CNNKIT_CACHE/torch-compile; the first compile takes 10-20 "
                             "s). Default: only after 50,000 images")
    add_quiet(parser)
    parser.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Print predictions as they come (JSON at the end); returns 0 when at least one image
    was predicted."""
    import numpy as np

    from .. import zoo  # noqa: F401  (registers the networks a saved model may name)
    from ..data.report import SKIP_REASONS
    from ..errors import DataError
    from ..models import load_model
    from ..predict import predict_files, ranked

    model = load_model(args.model, compile=False)
    model.jit_compile = "auto" if args.compile is None else args.compile
    json_items: list[dict] = []
    rows = csv.writer(sys.stdout, lineterminator="\n")
    if args.csv:
        rows.writerow(["path", "rank", "class", "probability"])
    predicted = failed = 0
    for path, result in predict_files(model, args.source, args.batch_size, not args.quiet):
        if not isinstance(result, np.ndarray):
            why = result.detail or SKIP_REASONS[result.reason]
            print(f"skipped {path}: {result.reason} ({why})", file=sys.stderr)
            failed += 1
            continue
        predicted += 1
        classes = ranked(result, model.class_names, args.top_k)
        if args.json:
            json_items.append({"path": path, "predictions": [
                {"class": name, "probability": round(p, 6)} for name, p in classes]})
        elif args.csv:
            rows.writerows([path, rank, name, f"{p:.6f}"]
                           for rank, (name, p) in enumerate(classes, start=1))
        else:
            print(path + "\t" + "  ".join(f"{name} {p:.2f}" for name, p in classes), flush=True)
    if args.json:
        print(json.dumps(json_items, indent=2))
    if failed:
        print(f"{failed:,} file(s) skipped, {predicted:,} image(s) predicted", file=sys.stderr)
    if not predicted:
        if failed:
            raise DataError(f"none of the {failed:,} image file(s) in {args.source} could be "
                            "read", hint="see the reasons above")
        raise DataError(f"no image files in {args.source}",
                        hint="image files end in .png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, "
                             "...; hidden files are passed over")
    return 0
