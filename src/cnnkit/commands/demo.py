"""``cnnkit demo``: train the Keras MNIST tutorial CNN on the built-in Fashion-MNIST slice."""

from __future__ import annotations

import argparse

from ..train.bounds import flag_type
from .options import add_quiet


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit demo``."""
    parser = subparsers.add_parser(
        "demo", help="train a CNN on the built-in data and write its report (offline, <1 min)",
        description="Train the Keras MNIST tutorial CNN on fashion-mnist-mini (5,000 real "
                    "Fashion-MNIST training images shipped with cnnkit) as a normal run: it "
                    "prints the model summary, the training history and the test accuracy, "
                    "and writes runs/demo/ with the models, the logs and report.html.")
    parser.add_argument("--epochs", type=flag_type("epochs"), default=5,
                        help="training epochs (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default="runs/demo",
                        help="run directory (default runs/demo; a suffix is added if it exists)")
    add_quiet(parser)
    parser.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Train, test and report; returns 0."""
    from ..train.config import RunConfig
    from ..workflows import train

    config = RunConfig(data="fashion-mnist-mini", model="tutorial-mnist", epochs=args.epochs,
                       seed=args.seed, out=args.out)
    run = train(config, quiet=args.quiet)
    print("\nepoch  loss    accuracy  val_loss  val_accuracy  img/s")
    for row in run.history.rows():
        print(f"{row['epoch']:>5}  {row['loss']:.4f}  {row['accuracy']:.4f}    "
              f"{row['val_loss']:.4f}    {row['val_accuracy']:.4f}        "
              f"{row['images_per_second']:,.0f}")
    print(f"\ntest accuracy: {run.test_metrics['test_accuracy']:.4f}   "
          f"report: {run.directory / 'report.html'}")
    return 0
