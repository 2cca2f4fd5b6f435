"""``cnnkit evaluate``: how good a trained model is on labelled images, and where it fails."""

from __future__ import annotations

import argparse
import json

from .data import SOURCE_HELP
from .options import add_data, add_quiet, add_saved_model, positive_int, require_data

EXAMPLES = """examples:
  cnnkit evaluate model.keras fashion-mnist
  cnnkit evaluate runs/small-cnn-photos/model/best photos/ --split val
  cnnkit evaluate model.keras --data photos.zip --json > evaluation.json"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit evaluate``."""
    parser = subparsers.add_parser(
        "evaluate", help="accuracy, per-class scores, confusions and calibration of a model",
        description="Evaluate a saved model on one split of a labelled dataset: loss,\n"
                    "accuracy, top-5 accuracy, precision/recall/F1 per class with macro and\n"
                    "weighted averages, the most-confused class pairs, the images with the\n"
                    "highest loss and the calibration (reliability curve and expected\n"
                    "calibration error). Images are decoded to the model's input size and\n"
                    "channels; the data's classes are matched to the model's by name.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_saved_model(parser)
    add_data(parser, "labelled images: " + SOURCE_HELP)
    parser.add_argument("--split", default="test",
                        help="the split to evaluate on: train, val or test (default test)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--batch-size", type=positive_int, default=256, metavar="N",
                        help="images per forward pass (default 256)")
    add_quiet(parser)
    parser.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    """Print the evaluation of ``args.model`` on ``args.data``; returns 0."""
    from .. import zoo  # noqa: F401  (registers the networks a saved model may name)
    from ..data import load
    from ..evaluation import evaluate_model
    from ..models import load_model

    require_data(args)
    model = load_model(args.model, compile=False)
    height, width, channels = model.input_shape[1:]
    data = load(args.data, split=args.split, image_size=(height, width), channels=channels,
                progress=not args.quiet)
    evaluation = evaluate_model(model, data, batch_size=args.batch_size,
                                progress=not args.quiet)
    if args.json:
        print(json.dumps({"model": args.model, "data": args.data, "split": args.split,
                          **evaluation.to_dict()}, indent=2))
    else:
        print(f"{args.model} on {args.data} ({args.split})")
        print(evaluation.format_text())
    return 0
