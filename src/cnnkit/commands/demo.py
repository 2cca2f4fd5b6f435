"""``cnnkit demo``: train the Keras MNIST tutorial CNN on the built-in Fashion-MNIST slice."""

from __future__ import annotations

import argparse

from .options import add_quiet


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit demo``."""
    parser = subparsers.add_parser(
        "demo", help="train a CNN on the built-in data and show how it did (offline, <1 min)",
        description="Train the Keras MNIST tutorial CNN on fashion-mnist-mini (5,000 real "
                    "Fashion-MNIST training images shipped with cnnkit), then print the "
                    "model summary, the training history and the test accuracy.")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_quiet(parser)
    parser.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Train, evaluate and print; returns 0."""
    from ..data import load_splits
    from ..seeding import set_seed
    from ..zoo import tutorial_mnist

    set_seed(args.seed)
    data = load_splits("fashion-mnist-mini", progress=not args.quiet)
    train, test = data["train"], data["test"]
    print(train.summary(), end="\n\n")
    model = tutorial_mnist(train.image_shape, train.num_classes)
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(train, epochs=args.epochs, validation_split=0.1,
                        verbose=0 if args.quiet else "auto")
    print("\nepoch  loss    accuracy  val_loss  val_accuracy  img/s")
    for row in history.rows():
        print(f"{row['epoch']:>5}  {row['loss']:.4f}  {row['accuracy']:.4f}    "
              f"{row['val_loss']:.4f}    {row['val_accuracy']:.4f}        "
              f"{row['images_per_second']:,.0f}")
    loss, accuracy = model.evaluate(test, verbose=0)
    print(f"\ntest accuracy: {accuracy:.4f}  (loss {loss:.4f}, {len(test):,} images)")
    return 0
