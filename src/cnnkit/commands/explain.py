"""``cnnkit explain``: look inside a CNN. Each subcommand writes PNG files to ``--out`` and
prints what it wrote and what the pictures show."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import positive_int
from .summary import add_model_arguments, model_from_args

DEFAULT_OUT = "explain"
EXAMPLES = """examples:
  cnnkit explain filters runs/tutorial-cifar10-cifar10/model/best
  cnnkit explain features model.keras cat.jpg --layers conv2d,max_pooling2d
  cnnkit explain gradcam model.keras cat.jpg --class dog
  cnnkit explain conv photo.jpg --kernel sobel-x --stride 2 --padding same --pool max
  cnnkit explain conv digit.png --kernel "0 -1 0; -1 5 -1; 0 -1 0" --mode summed
  cnnkit explain params tutorial-cifar10 --input-shape 224x224x3"""


def _layer_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _position(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not an output pixel: give ROW,COL")
    return int(parts[0]), int(parts[1])


def _add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), metavar="DIR",
                        help=f"folder for the PNG files (default {DEFAULT_OUT}/)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit explain`` and its subcommands."""
    parser = subparsers.add_parser(
        "explain", help="look inside a CNN: filters, feature maps, Grad-CAM, convolution",
        description="Look inside a CNN: draw its filters and feature maps, show where it "
                    "looks (Grad-CAM), work a convolution through by hand, and compare its "
                    "parameters with a dense network's. See docs/explain.md.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(title="explain commands", dest="explain_command",
                                    metavar="WHAT", required=True)

    filters = actions.add_parser(
        "filters", help="draw a convolution layer's kernels",
        description="Draw the kernels of a convolution layer (the first by default): one grid, "
                    "in RGB when the input has 3 channels; for deeper layers one image per "
                    "filter, a tile per input channel.")
    add_model_arguments(filters)
    filters.add_argument("--layer", metavar="NAME", help="a convolution layer (default: the "
                                                         "first)")
    _add_out(filters)
    filters.set_defaults(run=run_filters)

    features = actions.add_parser(
        "features", help="draw the feature maps of each layer for one image",
        description="Run one image through the model and draw the output of each convolution "
                    "and pooling layer as a grid, one tile per channel, labelled with the "
                    "layer's name and shape.")
    add_model_arguments(features)
    features.add_argument("image", metavar="IMAGE", help="an image file (resized to the "
                                                         "model's input)")
    features.add_argument("--layers", type=_layer_list, metavar="A,B,...",
                          help="layers to draw (default: every convolution and pooling layer)")
    _add_out(features)
    features.set_defaults(run=run_features)

    gradcam = actions.add_parser(
        "gradcam", help="show where the model looks: Grad-CAM and saliency for one image",
        description="Grad-CAM heatmap over the image for the predicted class (or --class), "
                    "with a vanilla-gradient saliency map alongside.")
    add_model_arguments(gradcam)
    gradcam.add_argument("image", metavar="IMAGE", help="an image file (resized to the "
                                                        "model's input)")
    gradcam.add_argument("--class", dest="class_", metavar="C",
                         help="the class to explain, by name or index (default: predicted)")
    gradcam.add_argument("--layer", metavar="NAME",
                         help="the layer whose maps Grad-CAM weighs (default: the last "
                              "convolution, after its BatchNormalization/Activation)")
    _add_out(gradcam)
    gradcam.set_defaults(run=run_gradcam)

    conv = actions.add_parser(
        "conv", help="apply one kernel to an image and show the arithmetic",
        description="Apply a kernel to an image, per channel or summed across channels (as "
                    "one Conv2D filter), write before and after images, and print the output "
                    "size and the arithmetic behind one output pixel. --pool adds pooling.")
    conv.add_argument("image", metavar="IMAGE", help="an image file")
    conv.add_argument("--kernel", required=True, metavar="K",
                      help="blur, sharpen, edge, sobel-x, sobel-y, emboss, or a matrix such "
                           "as \"0.1 0.1 0.1; 0.1 0.1 0.1; 0.1 0.1 0.1\"")
    conv.add_argument("--stride", type=positive_int, default=1, metavar="S")
    conv.add_argument("--padding", choices=["valid", "same"], default="valid")
    conv.add_argument("--mode", choices=["per-channel", "summed"], default="per-channel",
                      help="per channel (C outputs) or summed across channels (1 output, as "
                           "one Conv2D filter); default per-channel")
    conv.add_argument("--pool", choices=["max", "avg"], help="pool the result as well")
    conv.add_argument("--pool-size", type=positive_int, default=2, metavar="N")
    conv.add_argument("--at", type=_position, metavar="ROW,COL",
                      help="the output pixel whose arithmetic is printed (default: centre)")
    conv.add_argument("--max-side", type=positive_int, default=256, metavar="PIXELS",
                      help="scale larger images down to this many pixels on their longer "
                           "side first (default 256)")
    _add_out(conv)
    conv.set_defaults(run=run_conv)

    params = actions.add_parser(
        "params", help="compare a model's parameter count with a dense network's",
        description="Table of each layer's parameters next to those of a Dense layer "
                    "between the same numbers of values, with totals.")
    add_model_arguments(params)
    params.add_argument("--units", type=positive_int, default=1000, metavar="N",
                        help="for scale: one Dense layer from the input to N units "
                             "(default 1000)")
    params.set_defaults(run=run_params)


def _wrote(path: Path, what: str) -> None:
    print(f"wrote {path}: {what}")


def run_filters(args: argparse.Namespace) -> int:
    """Write the kernel pictures of one layer; returns 0."""
    from ..explain import conv_layer, filter_figures, filter_weights, save_figure

    model = model_from_args(args)
    name = conv_layer(model, args.layer).name
    weights = filter_weights(model, name)
    figures = filter_figures(model, name)
    count, kh, kw, inputs = weights.shape
    if len(figures) == 1:
        _wrote(save_figure(figures[0], args.out / f"filters-{name}.png"),
               f"{count} filters of {kh}x{kw}x{inputs} in one grid")
    else:
        from ..data.progress import progress_bar

        folder = args.out / f"filters-{name}"
        print(f"drawing {count} filters of {name}, one image each, into {folder}", flush=True)
        with progress_bar(count, f"filters of {name}", unit="filter") as bar:
            for index, figure in enumerate(figures):
                save_figure(figure, folder / f"filter-{index:03d}.png")
                bar.update(1)
        _wrote(folder, f"{count} images, one per filter, each {inputs} tiles of {kh}x{kw} "
                       "(one per input channel)")
    return 0


def run_features(args: argparse.Namespace) -> int:
    """Write one grid per layer; returns 0."""
    from ..explain import feature_figures, read_image, save_figure

    model = model_from_args(args)
    image = read_image(args.image, tuple(model.input_shape[1:]))
    for name, figure in feature_figures(model, image, args.layers).items():
        shape = "x".join(map(str, model.net.shapes[model.net.names.index(name)]))
        _wrote(save_figure(figure, args.out / f"features-{name}.png"),
               f"{type(model.get_layer(name)).__name__} output {shape}")
    print("each tile is one channel's map (bright = strong response), channels numbered "
          "row label + column label")
    return 0


def _class_index(text: str | None, class_names: list[str] | None, count: int) -> int | None:
    """``--class`` as an index: a class name of the model, or a number."""
    from ..errors import ConfigError
    from ..naming import did_you_mean

    if text is None:
        return None
    if class_names and text in class_names:
        return class_names.index(text)
    if text.isdigit() and int(text) < count:
        return int(text)
    names = class_names or [str(i) for i in range(count)]
    raise ConfigError(f"unknown class {text!r}", hint=did_you_mean(text, names))


def run_gradcam(args: argparse.Namespace) -> int:
    """Write the image, its Grad-CAM overlay and its saliency map; returns 0."""
    from ..explain import gradcam, gradcam_figure, read_image, save_figure
    from ..predict import ranked
    from ..spec import classes_of

    model = model_from_args(args)
    names = model.class_names
    image = read_image(args.image, tuple(model.input_shape[1:]))
    count = classes_of(model.output_shape[-1])
    result = gradcam(model, image, _class_index(args.class_, names, count), args.layer)
    path = args.out / f"gradcam-{Path(args.image).stem}.png"
    _wrote(save_figure(gradcam_figure(image, result, names), path),
           "image, Grad-CAM overlay (red = where the class score rises most), saliency map")
    top = "  ".join(f"{name} {p:.2f}" for name, p in ranked(result.probabilities, names, 3))
    explained = names[result.class_index] if names else str(result.class_index)
    print(f"predicted: {top}")
    print(f"explained class: {explained}; Grad-CAM layer: {result.layer}")
    return 0


def run_conv(args: argparse.Namespace) -> int:
    """Write before/after pictures and print the arithmetic; returns 0."""
    from ..explain import parse_kernel, read_image, save_figure, save_image, walkthrough

    image = read_image(args.image, max_side=args.max_side)
    result = walkthrough(image, parse_kernel(args.kernel), args.stride, args.padding,
                         args.mode.replace("-", "_"), args.pool, args.pool_size, args.at)
    print("\n".join(result.lines))
    for name, (pixels, how) in result.pictures().items():
        _wrote(save_image(pixels, args.out / f"conv-{name}.png"), how)
    _wrote(save_figure(result.figure(), args.out / "conv.png"), "the steps side by side")
    return 0


def run_params(args: argparse.Namespace) -> int:
    """Print the comparison table; returns 0."""
    from ..explain import params_table

    print(params_table(model_from_args(args), args.units))
    return 0
