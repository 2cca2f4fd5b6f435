"""The import lines of Keras and TensorFlow tutorials work on cnnkit's Keras surface."""

from __future__ import annotations

import importlib

import numpy as np


def test_np_utils_to_categorical_is_keras_utils_to_categorical() -> None:
    from cnnkit.keras import utils
    from cnnkit.keras.utils.np_utils import to_categorical

    np_utils = importlib.import_module("cnnkit.keras.utils.np_utils")
    assert to_categorical is utils.to_categorical is np_utils.to_categorical
    assert utils.np_utils is np_utils
    expected = np.zeros((3, 4), np.float32)
    expected[[0, 1, 2], [2, 0, 3]] = 1
    np.testing.assert_array_equal(to_categorical([2, 0, 3], 4), expected)


def test_cnnkit_tf_replaces_import_tensorflow_as_tf() -> None:
    from cnnkit.tf.keras.layers import Conv2D, Dense
    from cnnkit.tf.keras.preprocessing.image import img_to_array, load_img

    import cnnkit.keras as keras
    import cnnkit.tf as tf

    assert tf.keras is keras
    assert Dense is keras.layers.Dense and Conv2D is keras.layers.Conv2D
    assert load_img is keras.utils.load_img and img_to_array is keras.utils.img_to_array
    for name in ("layers", "models", "datasets", "utils", "callbacks", "optimizers", "losses",
                 "metrics", "Sequential", "Input"):
        assert getattr(tf.keras, name) is getattr(keras, name)
    assert tf.keras.datasets.mnist is importlib.import_module("cnnkit.tf.keras.datasets.mnist")
    assert tf.keras.utils.image_dataset_from_directory is \
        tf.keras.preprocessing.image_dataset_from_directory
    assert tf.keras.callbacks.BackupAndRestore and tf.keras.layers.MaxPool2D


def test_a_tf_keras_script_trains_on_real_images() -> None:
    import cnnkit.tf as tf
    from cnnkit.data import load

    data = load("fashion-mnist-mini", progress=False)
    x, y = data.images[:256].astype("float32") / 255.0, data.labels[:256]
    tf.random.set_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(28, 28, 1)),
        tf.keras.layers.Conv2D(8, 3, activation="relu"),
        tf.keras.layers.MaxPool2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(10),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, tf.keras.utils.to_categorical(y).argmax(1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
