"""``cnnkit train --nproc N``: start torch's elastic launcher (what ``torchrun`` runs) from
inside cnnkit, so that N processes run ``python -m cnnkit train`` with the same arguments
(less the launcher's own) as ranks of one data-parallel run (train/distributed.py)."""

from __future__ import annotations

import argparse
import os

from ..errors import CnnkitError

# the launcher's flags of `cnnkit train`, as (flag, dest); each takes one value
LAUNCHER_FLAGS = (("--nproc", "nproc"), ("--nnodes", "nnodes"), ("--node-rank", "node_rank"),
                  ("--rdzv-endpoint", "rdzv_endpoint"))


class LaunchError(CnnkitError):
    """A rank of a launched run failed (its own error was printed above)."""


def add_launcher(parser: argparse.ArgumentParser) -> None:
    """The flags that make ``cnnkit train`` start several processes."""
    group = parser.add_argument_group(
        "several processes (docs/scaling.md)",
        "start N data-parallel processes (torchrun's launcher); --batch-size stays the "
        "global batch")
    group.add_argument("--nproc", type=int, metavar="N",
                       help="processes on this machine (default threads each: cores // N)")
    group.add_argument("--nnodes", metavar="N|MIN:MAX",
                       help="machines taking part (with --rdzv-endpoint; default 1)")
    group.add_argument("--node-rank", type=int, metavar="R",
                       help="this machine's number, 0 .. nnodes-1 (static rendezvous)")
    group.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                       help="where the machines meet (rank 0's machine and a free port)")


def worker_arguments(argv: list[str]) -> list[str]:
    """``argv`` (after ``cnnkit``) without the launcher's flags and their values."""
    flags = {flag for flag, _ in LAUNCHER_FLAGS}
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item in flags:
            skip = True
        elif item.split("=", 1)[0] not in flags:
            kept.append(item)
    return kept


def launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run ``cnnkit`` with ``argv`` less the launcher's flags in ``args.nproc`` processes;
    returns 0, or the exit code of the first rank that failed."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    from ..train.distributed import threads_per_rank

    if args.nproc < 1:
        from ..errors import ConfigError
        raise ConfigError(f"--nproc {args.nproc}: give at least 1 process")
    # torchrun would set 1 thread per process (with a warning); cnnkit shares out the cores
    os.environ.setdefault("OMP_NUM_THREADS", str(threads_per_rank(args.nproc)))
    options = ["--nproc-per-node", str(args.nproc), "--nnodes", str(args.nnodes or 1)]
    if args.rdzv_endpoint:
        options += ["--rdzv-endpoint", args.rdzv_endpoint, "--rdzv-backend",
                    "static" if args.node_rank is not None else "c10d"]
        if args.node_rank is not None:
            options += ["--node-rank", str(args.node_rank)]
    else:
        options.append("--standalone")
    try:
        run(get_args_parser().parse_args([*options, "-m", "cnnkit", *worker_arguments(argv)]))
    except ChildFailedError as failed:
        first, failure = failed.get_first_failure()  # the others were stopped after it
        code = failure.exitcode
        error = LaunchError(f"rank {first} of the run stopped with exit code {code}; the "
                            "launcher stopped the others",
                            hint="its error is printed above; a killed run continues with "
                                 "--resume RUN_DIR --nproc N")
        error.exit_code = code if code > 0 else 1  # a rank's own code (2: a bad setting)
        raise error from None
    return 0
