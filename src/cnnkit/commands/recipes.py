"""``cnnkit recipes``: the recipes ``cnnkit train --recipe`` takes, with published results
and this project's own measurement."""

from __future__ import annotations

import argparse

from ..tables import format_table

EXAMPLES = """examples:
  cnnkit recipes
  cnnkit train --recipe mnist-fast                      # on MNIST, the data it was tuned on
  cnnkit train photos/ --recipe cifar10-fast            # on your images (fitted to them)
  cnnkit train --recipe fashion-mnist-best --epochs 5   # a flag overrides the recipe"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit recipes``."""
    parser = subparsers.add_parser(
        "recipes", help="list the training recipes (network and settings tuned for speed)",
        description="List the recipes: a network and its training settings (optimizer, "
                    "schedule, augmentation, weight averaging, test-time flips) tuned for "
                    "the best accuracy in the time given, with published results for "
                    "comparison and the accuracy and time measured here "
                    "(docs/performance.md, 'Recipes').",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run_recipes)


def run_recipes(args: argparse.Namespace) -> int:
    """Print the table of recipes and their published results; returns 0."""
    from .. import recipes

    chosen = [recipes.get(name) for name in recipes.names()]
    rows = [(r.name, r.dataset, r.epochs, r.measured or "not measured yet") for r in chosen]
    lines = format_table(("name", "dataset", "epochs", "measured here"), rows)
    for recipe in chosen:
        lines += ["", f"{recipe.name}: {recipe.summary}"]
        lines += [f"  published: {p.who}: {p.accuracy:.2%} ({p.cost})"
                  for p in recipe.published]
    print("\n".join(lines))
    return 0
