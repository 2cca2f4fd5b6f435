"""``keras.utils.image_dataset_from_directory``, ``load_img`` and ``img_to_array`` on a small
real CIFAR-10 JPEG tree: Keras's file order and split, pixels, labels, batches, broken
files, and training from the result."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import archive_sample, pixels

from cnnkit.errors import DataError
from cnnkit.keras import layers, models, utils
from keras_resize_reference import smart_crop, tf_bilinear, tf_nearest

PER_CLASS = 20


@pytest.fixture(scope="module")
def tree(shared_data: Path, tmp_path_factory) -> Path:
    """``root/<class>/<file>.jpg``: 20 real CIFAR-10 training JPEGs per class."""
    root = tmp_path_factory.mktemp("cifar-tree")
    for name, files in archive_sample(shared_data / "cifar10-jpg.tar.gz",
                                      PER_CLASS)["train"].items():
        (root / name).mkdir()
        for index, data in enumerate(files):
            (root / name / f"{index:04d}.jpg").write_bytes(data)
    return root


def _keras_order(root: Path, seed: int) -> list[str]:
    """Keras's listing, written out: classes sorted, files sorted, then the seeded shuffle."""
    paths = [os.path.join(root, c, f) for c in sorted(os.listdir(root))
             for f in sorted(os.listdir(root / c))]
    np.random.RandomState(seed).shuffle(paths)
    return paths


def test_split_follows_keras_and_subsets_are_disjoint(tree: Path) -> None:
    kwargs = {"validation_split": 0.2, "seed": 1, "image_size": (32, 32), "verbose": False}
    train = utils.image_dataset_from_directory(tree, subset="training", **kwargs)
    val = utils.image_dataset_from_directory(tree, subset="validation", **kwargs)
    order = _keras_order(tree, 1)
    held = int(0.2 * len(order))
    assert train.file_paths == order[:-held]
    assert val.file_paths == order[-held:]
    assert not set(train.file_paths) & set(val.file_paths)
    assert train.class_names == sorted(os.listdir(tree))
    labels = [train.class_names.index(Path(p).parent.name) for p in train.file_paths]
    np.testing.assert_array_equal(train.labels, labels)
    both = utils.image_dataset_from_directory(tree, subset="both", **kwargs)
    assert [d.file_paths for d in both] == [train.file_paths, val.file_paths]


def test_pixels_are_keras_float32_images(tree: Path) -> None:
    data = utils.image_dataset_from_directory(tree, image_size=(32, 32), shuffle=False,
                                              verbose=False)
    first = data.file_paths[0]
    assert data.images.dtype == np.float32
    np.testing.assert_array_equal(data.images[0], pixels(Path(first).read_bytes()))
    resized = utils.image_dataset_from_directory(tree, image_size=(20, 45), shuffle=False,
                                                 verbose=False)
    np.testing.assert_allclose(resized.images[0], tf_bilinear(pixels(Path(first).read_bytes()),
                                                              20, 45), atol=1e-3)
    cropped = utils.image_dataset_from_directory(tree, image_size=(20, 45), shuffle=False,
                                                 interpolation="nearest",
                                                 crop_to_aspect_ratio=True, verbose=False)
    image = smart_crop(pixels(Path(first).read_bytes()), 20, 45)
    np.testing.assert_array_equal(cropped.images[0], tf_nearest(image, 20, 45))
    gray = utils.image_dataset_from_directory(tree, image_size=(32, 32), shuffle=False,
                                              color_mode="grayscale", verbose=False)
    assert gray.images.shape[1:] == (32, 32, 1)


def test_label_modes_and_batches(tree: Path, tmp_path: Path) -> None:
    common = {"image_size": (32, 32), "batch_size": 7, "shuffle": False, "verbose": False}
    ints = utils.image_dataset_from_directory(tree, **common)
    assert len(ints) == -(-10 * PER_CLASS // 7)
    x, y = ints.take(1)[0]
    assert x.shape == (7, 32, 32, 3) and y.dtype == np.int32
    onehot = utils.image_dataset_from_directory(tree, label_mode="categorical", **common)
    np.testing.assert_array_equal(onehot.labels, np.eye(10, dtype=np.float32)[ints.labels])
    two = tmp_path / "two"
    for name in ("cat", "dog"):
        (two / name).mkdir(parents=True)
        for file in sorted((tree / name).iterdir())[:3]:
            (two / name / file.name).write_bytes(file.read_bytes())
    binary = utils.image_dataset_from_directory(two, label_mode="binary", **common)
    np.testing.assert_array_equal(binary.labels, [[0.0]] * 3 + [[1.0]] * 3)
    unlabelled = utils.image_dataset_from_directory(two, label_mode=None, **common)
    assert next(iter(unlabelled)).shape == (6, 32, 32, 3)
    given = utils.image_dataset_from_directory(two, labels=[1, 0, 1, 0, 1, 0], **common)
    assert given.class_names == ["0", "1"]  # labels in sorted path order, as in Keras
    np.testing.assert_array_equal(given.labels, [1, 0, 1, 0, 1, 0])
    with pytest.raises(DataError, match="exactly 2 classes"):
        utils.image_dataset_from_directory(tree, label_mode="binary", **common)


def test_broken_files_are_skipped_and_counted(tree: Path, tmp_path: Path) -> None:
    root = tmp_path / "broken"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for file in sorted((tree / name).iterdir())[:4]:
            (root / name / file.name).write_bytes(file.read_bytes())
    (root / "cat" / "zz-truncated.jpg").write_bytes((tree / "cat" / "0000.jpg").read_bytes()[:50])
    (root / "dog" / "empty.png").write_bytes(b"")
    data = utils.image_dataset_from_directory(root, image_size=(32, 32), shuffle=False,
                                              verbose=False)
    assert data.num_images == 8
    assert sum(data.report.skip_counts().values()) == 2
    assert not any("zz-truncated" in p or "empty" in p for p in data.file_paths)


def test_fit_evaluate_predict_take_the_dataset(tree: Path) -> None:
    kwargs = {"validation_split": 0.2, "seed": 3, "image_size": (32, 32), "batch_size": 16,
              "verbose": False}
    train = utils.image_dataset_from_directory(tree, subset="training", **kwargs)
    val = utils.image_dataset_from_directory(tree, subset="validation", **kwargs)
    model = models.Sequential([
        layers.Input((32, 32, 3)), layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPool2D(), layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=1, verbose=0)
    assert history.params["steps"] == len(train) == -(-train.num_images // 16)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, accuracy = model.evaluate(val, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    assert model.predict(val, verbose=0).shape == (val.num_images, 10)
    assert model.class_names == train.class_names
    norm = layers.Normalization()
    norm.adapt(train)  # the Keras idiom: adapt on the image dataset's batches
    module = norm.build_module((32, 32, 3))
    np.testing.assert_allclose(module.mean.numpy(),
                               train.images.mean(axis=(0, 1, 2), dtype=np.float64), rtol=1e-5)


def test_load_img_and_img_to_array(tree: Path) -> None:
    path = tree / "cat" / "0000.jpg"
    original = pixels(path.read_bytes())
    array = utils.img_to_array(utils.load_img(path))
    assert array.dtype == np.float32 and array.shape == (32, 32, 3)
    np.testing.assert_array_equal(array, original)
    doubled = utils.img_to_array(utils.load_img(path, target_size=(64, 64)))
    np.testing.assert_array_equal(doubled, original.repeat(2, axis=0).repeat(2, axis=1))
    gray = utils.img_to_array(utils.load_img(path, color_mode="grayscale"))
    assert gray.shape == (32, 32, 1)
    with pytest.raises(DataError, match="does not exist"):
        utils.load_img(tree / "missing.jpg")
