"""``cnnkit train``: a folder of images (or a dataset name) to a trained model and run dir."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..train.bounds import flag_type
from ..train.config import RunConfig
from .launch import LAUNCHER_FLAGS, add_launcher, launch
from .options import add_data, add_quiet, image_size

EXAMPLES = """examples:
  cnnkit train photos/                # a model chosen from the data (the log says which)
  cnnkit train ../shared/data/mnist-png.tar.gz --model tutorial-mnist --epochs 3
  cnnkit train photos/ --model small-cnn --image-size 64 --augment auto --schedule cosine
  cnnkit train photos/ --model resnet18 --image-size 128     # 'cnnkit models' lists names
  cnnkit train photos/ -q             # prints only the final accuracy and the run directory
  cnnkit train --config run.yaml --epochs 20          # flags override the file
  cnnkit train --resume runs/small-cnn-photos         # continue exactly where it stopped
  cnnkit train fashion-mnist --nproc 2 --batch-size 64  # 2 data-parallel processes
  torchrun --nproc_per_node=2 -m cnnkit train fashion-mnist --batch-size 64   # the same
  cnnkit train photos/ --model efficientnet-lite0 --pretrained   # transfer learning
  cnnkit train --recipe mnist-fast    # a tuned network and settings ('cnnkit recipes')
  cnnkit train photos/ --recipe cifar10-fast --epochs 20         # flags override it

Every flag is also a key of --config files (use underscores: batch_size: 64)."""


def _mapping_or_text(text: str):
    """``balanced``, or ``0=2.0,3=1.5`` / ``cat=2`` for per-class weights."""
    if "=" not in text:
        return text
    pairs = (item.split("=", 1) for item in text.split(","))
    return {key.strip(): float(value) for key, value in pairs}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit train``."""
    p = subparsers.add_parser(
        "train", help="train a CNN on images; writes a run directory with models and logs",
        description="Train a model on a dataset and write runs/NAME/ (config.yaml, "
                    "history.csv, log.txt, model/best, model/last, checkpoint/, metrics.json).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="YAML file of settings (flags win over it)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint (a run that "
                        "stopped before its first checkpoint starts over from its "
                        "config.yaml)")
    data = p.add_argument_group("data")
    add_data(p, "training images: folder, archive, CSV, IDX, .npz or a built-in name (mnist, "
                "fashion-mnist, cifar10, fashion-mnist-mini)", group=data)
    data.add_argument("--val", metavar="PATH", help="validation images (default: the data's "
                      "own val split, else --val-split of the training images)")
    data.add_argument("--val-split", type=flag_type("val_split"), metavar="F",
                      help="fraction of training images held out for validation (default 0.1)")
    data.add_argument("--test", metavar="PATH", help="test images (default: the data's test "
                      "split, if any)")
    data.add_argument("--image-size", type=image_size, metavar="S",
                      help="resize images to S x S (or HxW); default: the most common size")
    data.add_argument("--fraction", type=flag_type("fraction"), metavar="F",
                      help="use a stratified fraction of the training, validation and test "
                           "images (quick trials)")
    data.add_argument("--strict", action="store_true", default=None,
                      help="stop at the first bad image instead of skipping it")
    model = p.add_argument_group("model and optimisation")
    model.add_argument("--model", metavar="NAME|SPEC|SAVED",
                       help="a built-in architecture (tutorial-mnist, tutorial-cifar10, "
                            "small-cnn, lenet5, resnet18, resnet20, resnet50, mobilenet-v2, "
                            "efficientnet-b0, convnext-tiny, ...: 'cnnkit models' lists them "
                            "all), a layer-spec .yaml/.json file, or a saved model to continue "
                            "from (default: chosen from the data, see docs/training.md)")
    model.add_argument("--recipe", metavar="NAME",
                       help="a tuned network with its training settings ('cnnkit recipes' "
                            "lists them); the data defaults to the recipe's dataset, other "
                            "data is resized to the recipe's image size, and any flag given "
                            "overrides the recipe's setting")
    weights = model.add_mutually_exclusive_group()
    weights.add_argument("--pretrained", action="store_const", const="imagenet",
                         dest="weights",
                         help="start --model (a zoo network) from its ImageNet weights: "
                              "a new head trained on frozen features, then fine-tuning "
                              "(docs/transfer-learning.md)")
    weights.add_argument("--weights", metavar="PATH",
                         help="as --pretrained, from a local .pth/.safetensors state dict")
    model.add_argument("--freeze-epochs", type=flag_type("freeze_epochs"), metavar="N",
                       help="pretrained runs: epochs of the new head on frozen features "
                            f"(default {RunConfig.freeze_epochs})")
    model.add_argument("--epochs", type=flag_type("epochs"),
                       help=f"passes over the training data (default {RunConfig.epochs}; "
                            "pretrained runs: fine-tuning epochs, default 3)")
    model.add_argument("--batch-size", type=flag_type("batch_size"),
                       help="default 32 (Keras's default)")
    model.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop"],
                       help=f"default {RunConfig.optimizer}")
    model.add_argument("--lr", type=flag_type("lr"),
                       help="learning rate, > 0 (default: the optimizer's)")
    model.add_argument("--momentum", type=flag_type("momentum"),
                       help="SGD momentum, in [0, 1] (default 0.9)")
    model.add_argument("--nesterov", action="store_true", default=None, help="Nesterov SGD")
    model.add_argument("--weight-decay", type=flag_type("weight_decay"))
    model.add_argument("--schedule", metavar="NAME[:k=v,...]",
                       help="constant, step, cosine (e.g. cosine:warmup_epochs=1), onecycle, "
                            "plateau")
    model.add_argument("--label-smoothing", type=flag_type("label_smoothing"),
                       help="in [0, 1)")
    model.add_argument("--ema", type=flag_type("ema"), metavar="DECAY",
                       help="train with a moving average of the weights (Keras's use_ema) "
                            "of this decay per step, e.g. 0.999; the run ends with the "
                            "averaged weights")
    model.add_argument("--tta", choices=["flip"],
                       help="test the final model on each image and its mirror, averaged")
    model.add_argument("--clip-norm", type=flag_type("clip_norm"),
                       help="clip each gradient's norm to at most this (> 0)")
    model.add_argument("--class-weight", type=_mapping_or_text, metavar="balanced|C=W,...",
                       help="weight the loss per class: 'balanced' or e.g. 'cat=2,dog=1'")
    model.add_argument("--balanced-sampling", action="store_true", default=None,
                       help="draw every class equally often in each epoch")
    model.add_argument("--augment", metavar="auto|none|OPS",
                       help="training augmentation: auto (suits the data), none, or a list "
                            "such as flip,crop,rotate=10,erase (see docs/training.md)")
    model.add_argument("--early-stopping", type=flag_type("early_stopping"), metavar="PATIENCE",
                       help="stop after PATIENCE epochs without val_loss improvement, keeping "
                            "the best weights")
    run = p.add_argument_group("run")
    run.add_argument("--out", metavar="DIR", help="run directory (default runs/MODEL-DATA; "
                     "a suffix is added if it exists)")
    run.add_argument("--overwrite", action="store_true", default=None,
                     help="replace an existing run directory instead of adding a suffix")
    run.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"],
                     help="auto (default): $CNNKIT_PRECISION if set, else bf16 autocast "
                          "where the CPU computes bf16 natively (except networks without "
                          "BatchNorm that cnnkit's fp32 kernels run, faster in fp32) and "
                          "fp32 elsewhere; bf16 "
                          "without native support is emulated (slower), with a notice; "
                          "fp16: autocast with a gradient scaler, CUDA only")
    run.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"],
                     help="auto (default): a GPU when one exists (CUDA, then MPS), else the "
                          "CPU")
    run.add_argument("--threads", type=flag_type("threads"),
                     help="cores to train on (default: all, down to one while another "
                          "process holds a core)")
    run.add_argument("--seed", type=int, help="random seed (default 0)")
    run.add_argument("--deterministic", action="store_true", default=None,
                     help="deterministic algorithms: a resumed run matches an uninterrupted "
                          "one bit for bit")
    run.add_argument("--checkpoint-minutes", type=flag_type("checkpoint_minutes"), metavar="M",
                     help="also checkpoint every M minutes inside long epochs (default 10)")
    run.add_argument("--checkpoint-steps", type=flag_type("checkpoint_steps"), metavar="N",
                     help="also checkpoint every N batches")
    add_launcher(p)
    add_quiet(p, help="print only the results on stdout: the final accuracy (test, else best "
                      "validation) and the run directory, one line each")
    p.set_defaults(run=run_train)


_NOT_SETTINGS = {"config", "resume", "quiet", "run", "command", "usage_error", "argv",
                 *(dest for _, dest in LAUNCHER_FLAGS)}


def run_train(args: argparse.Namespace) -> int:
    """Start or resume a run; returns 0 when it finishes."""
    from ..errors import ConfigError
    from ..train.config import RunConfig, config_keys
    from ..workflows import resume, train
    from ..workflows.pretrained import with_recipe
    from ..workflows.recipe_settings import apply_recipe

    if args.nproc is not None:
        return launch(args, args.argv)
    if args.resume:
        extra = {k for k, v in vars(args).items()
                 if v is not None and k not in _NOT_SETTINGS and k != "epochs"}
        if extra:
            raise ConfigError(f"--resume continues a run with its saved settings; it only "
                              f"takes --epochs (got --{sorted(extra)[0].replace('_', '-')})",
                              hint="start a new run to change other settings")
        resume(args.resume, epochs=args.epochs, quiet=args.quiet)
        return 0
    base = RunConfig.load(args.config) if args.config else RunConfig()
    overrides = {k: v for k, v in vars(args).items() if k not in _NOT_SETTINGS}
    if isinstance(overrides.get("image_size"), tuple):
        overrides["image_size"] = list(overrides["image_size"])
    config = base.merged(overrides)
    given = {k for k, v in overrides.items() if v is not None} | config_keys(args.config)
    if config.recipe:
        config = apply_recipe(config, given)
    if config.weights:
        config = with_recipe(config, given)
    train(config, quiet=args.quiet)
    return 0
