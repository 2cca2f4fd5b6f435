"""``cnnkit export``: a trained model as an ONNX or TorchScript file, checked on real
images against onnxruntime."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import add_saved_model, positive_int

EXAMPLES = """examples:
  cnnkit export runs/small-cnn-photos/model/best --format onnx
  cnnkit export model.keras --format torchscript --out classifier.pt
  cnnkit export model.keras --no-dynamic-batch --batch-size 8 --check-data photos/"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit export``."""
    parser = subparsers.add_parser(
        "export", help="write a model as ONNX or TorchScript, for use without cnnkit",
        description="Export a saved model. The file takes uint8 images (N, H, W, C) and "
                    "scales them inside; its metadata holds the class names, the input and "
                    "the preprocessing (docs/serving.md). An ONNX file is then run by "
                    "onnxruntime on real images and compared with the model.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_saved_model(parser)
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx",
                        help="onnx (onnxruntime, any language; default) or torchscript "
                             "(libtorch)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="where to write (default: next to the model, as .onnx or .pt)")
    parser.add_argument("--dynamic-batch", action=argparse.BooleanOptionalAction, default=True,
                        help="any number of images per call (default); --no-dynamic-batch "
                             "fixes it to --batch-size")
    parser.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                        help="the fixed batch size with --no-dynamic-batch (default 1)")
    parser.add_argument("--input-dtype", choices=("uint8", "float32"), default="uint8",
                        help="uint8 pixels scaled inside (default), or float32 values as "
                             "model(x) takes them (Keras's convention)")
    parser.add_argument("--check-data", metavar="PATH|NAME",
                        help="the images to check the ONNX file on (a dataset as cnnkit train "
                             "reads; default: the built-in fashion-mnist-mini, converted to "
                             "the model's input)")
    parser.set_defaults(run=run_export)


def default_out(model_path: str, format: str) -> Path:
    """``model.keras`` -> ``model.onnx``; a model folder -> ``FOLDER.onnx`` beside it."""
    from ..export import FORMATS

    path = Path(model_path.rstrip("/"))
    return path.with_suffix(FORMATS[format]) if path.suffix else \
        path.with_name(path.name + FORMATS[format])


def run_export(args: argparse.Namespace) -> int:
    """Export, then (ONNX) check the file; exit 8 when it differs beyond the tolerance."""
    from ..export import ExportError, export_model
    from ..export.check import TOLERANCE, onnx_parity
    from ..export.images import check_images
    from ..models import load_model

    model = load_model(args.model, compile=False)
    out = args.out or default_out(args.model, args.format)
    done = export_model(model, out, args.format, dynamic_batch=args.dynamic_batch,
                        batch_size=args.batch_size, input_dtype=args.input_dtype)
    shape = ", ".join(str(d) for d in model.input_shape[1:])
    print(f"wrote {done.path} ({args.format}; input {args.input_dtype} "
          f"({done.batch or 'N'}, {shape}), {len(model.class_names or [])} class names)")
    if args.format != "onnx":
        return 0
    images, name = check_images(model, args.check_data)
    parity = onnx_parity(model, done.path, images, done.batch, args.input_dtype)
    print(f"{parity.describe()}; images from {name}")
    if not parity.ok:
        raise ExportError(f"the ONNX file differs from the model by up to "
                          f"{parity.max_abs_diff:.2e} (more than {TOLERANCE:.0e})",
                          hint=f"the file is written ({done.path}) but should not be trusted; "
                               "try --format torchscript, and please report the model")
    return 0
