"""Look inside the TensorFlow CIFAR-10 tutorial CNN after training it on real CIFAR-10.

    python examples/explain_cifar.py [--data ../shared/data] [--epochs 6] [--out explain-cifar]

Trains the tutorial CNN (122,570 parameters) on the 50,000 CIFAR-10 training JPEGs with
Keras's defaults (Adam, batch 32), saves it as OUT/model.keras, then writes, for the first
test image of every class:

- OUT/filters-<first conv>.png: the 32 first-layer kernels in RGB;
- OUT/<class>/features-<layer>.png: the feature maps of each conv and pooling layer;
- OUT/<class>/gradcam.png: the image, its Grad-CAM overlay and its saliency map (Grad-CAM
  on the last conv layer, 4x4 maps), and gradcam-<second conv>.png the same on the 13x13
  maps of the second conv layer (finer, less class-specific).

It prints the test accuracy and, per image, the predicted class and where the Grad-CAM heat
is. The same pictures come from ``cnnkit explain`` with OUT/model.keras.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from cnnkit.data import load_splits
from cnnkit.explain import feature_figures, filter_figures, gradcam, gradcam_figure, save_figure
from cnnkit.models import load_model
from cnnkit.seeding import set_seed
from cnnkit.zoo import tutorial_cifar10


def train(data: Path, epochs: int, out: Path):
    """The tutorial CNN trained on CIFAR-10 (loaded from OUT/model.keras when it is there),
    and the test split."""
    splits = load_splits(data / "cifar10-jpg.tar.gz")
    saved = out / "model.keras"
    if saved.exists():
        return load_model(saved), splits["test"]
    set_seed(0)
    model = tutorial_cifar10()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(splits["train"], epochs=epochs, batch_size=32, verbose=2)
    model.save(saved)
    return model, splits["test"]


def heat_summary(heatmap: np.ndarray) -> str:
    """Where the heat is: its centre of mass and the share of it in the middle half."""
    rows, cols = np.indices(heatmap.shape)
    total = heatmap.sum() or 1.0
    centre = (float((rows * heatmap).sum() / total), float((cols * heatmap).sum() / total))
    h, w = heatmap.shape
    middle = heatmap[h // 4:h - h // 4, w // 4:w - w // 4].sum() / total
    return f"heat centre (row, col) = ({centre[0]:.1f}, {centre[1]:.1f}); " \
           f"{middle:.0%} of the heat in the middle half"


def explain(model, test, out: Path) -> None:
    """Write the filters once, and feature maps and Grad-CAM for one test image per class."""
    for figure in filter_figures(model):
        print("wrote", save_figure(figure, out / f"filters-{model.layers[0].name}.png"))
    names = test.class_names
    for label, name in enumerate(names):
        index = int(np.flatnonzero(test.labels == label)[0])
        image = np.asarray(test.images[index])
        folder = out / name
        for layer, figure in feature_figures(model, image).items():
            save_figure(figure, folder / f"features-{layer}.png")
        result = gradcam(model, image)
        save_figure(gradcam_figure(image, result, names), folder / "gradcam.png")
        finer = gradcam(model, image, layer=model.layers[2].name)
        save_figure(gradcam_figure(image, finer, names), folder / f"gradcam-{finer.layer}.png")
        predicted = names[result.class_index]
        print(f"{name} ({test.paths[index] if test.paths else index}): predicted {predicted} "
              f"{result.probabilities[result.class_index]:.0%}; {heat_summary(result.heatmap)}")


def main() -> None:
    """Train (or load) the model, report its accuracy and write the pictures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("CNNKIT_DATA", "../shared/data")))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a busy 2-core machine two OpenMP "
                             "threads wait on each other and train ~10x slower)")
    parser.add_argument("--out", type=Path, default=Path("explain-cifar"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    model, test = train(args.data, args.epochs, args.out)
    _, accuracy = model.evaluate(test, verbose=0)
    print(f"test accuracy: {accuracy:.4f}")
    explain(model, test, args.out)


if __name__ == "__main__":
    main()
