"""The Keras "load images from a folder" recipe with cnnkit: only the import line changed.

    python examples/keras_image_folder.py DATA_DIR [--epochs 1] [--image-size 32]

``DATA_DIR`` holds one folder per class (e.g. the CIFAR-10 JPEG tree: ``tar -xzf
../shared/data/cifar10-jpg.tar.gz -C /tmp/cifar-tree`` then ``/tmp/cifar-tree/train``).
It splits 80/20 with seed 1 as the Keras tutorial does, trains the Keras CIFAR-10 tutorial
CNN behind ``Rescaling(1./255)`` and prints the image counts, the overlap between the two
subsets (none) and the accuracies.
"""

from __future__ import annotations

import argparse
import time

import cnnkit.tf as tf  # was: import tensorflow as tf


def main() -> None:
    """Load, split, train, report."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()
    size = (args.image_size, args.image_size)
    started = time.perf_counter()
    train_ds = tf.keras.utils.image_dataset_from_directory(
        args.data_dir, validation_split=0.2, subset="training", seed=1, image_size=size)
    val_ds = tf.keras.utils.image_dataset_from_directory(
        args.data_dir, validation_split=0.2, subset="validation", seed=1, image_size=size)
    print(f"loaded in {time.perf_counter() - started:.1f} s: {train_ds.num_images} training "
          f"and {val_ds.num_images} validation images, "
          f"{len(set(train_ds.file_paths) & set(val_ds.file_paths))} files in both")

    layers = tf.keras.layers
    model = tf.keras.Sequential([
        layers.Input((*size, 3)),
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(len(train_ds.class_names)),
    ])
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    started = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=2)
    print(f"trained in {time.perf_counter() - started:.1f} s: "
          f"accuracy {history.history['accuracy'][-1]:.4f}, "
          f"val_accuracy {history.history['val_accuracy'][-1]:.4f}")


if __name__ == "__main__":
    main()
