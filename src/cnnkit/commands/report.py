"""``cnnkit report``: (re)write the HTML report of a training run."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import add_quiet

EXAMPLES = """examples:
  cnnkit report runs/small-cnn-photos            # writes runs/small-cnn-photos/report.html
  cnnkit report runs/tiny-fashion-mnist-mini -q

'cnnkit train' writes the report at the end of every run; this command writes it again,
e.g. for a run that was interrupted, or after the data moved back into place."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit report``."""
    parser = subparsers.add_parser(
        "report", help="write the HTML report of a training run (curves, diagnosis, errors)",
        description="Write RUN_DIR/report.html, one self-contained page that opens offline:\n"
                    "training curves, the diagnosis, the confusion matrix, per-class scores,\n"
                    "the highest-loss images, sample images, the model, the dataset and the\n"
                    "settings. Each plot is also written as RUN_DIR/report/NAME.png. Parts a\n"
                    "run lacks (no test split, stopped early) are noted, not fatal.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path,
                        help="a run directory written by 'cnnkit train'")
    add_quiet(parser)
    parser.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Write the report and print its path; returns 0."""
    from ..report import write_report

    print(write_report(args.run_dir, progress=not args.quiet))
    return 0
