"""The command groups of the ``cnnkit`` command line, one module each.

Each module exposes ``add_parser(subparsers)``, which adds its parser (with help text on
every command) and sets ``run`` on each runnable command: a function ``run(args) -> int``
that returns the exit code. Modules import the library inside ``run``, so ``cnnkit --help``
does not pay for importing torch.
"""
