"""Check and normalise what users pass to ``fit``/``evaluate``/``predict``.

Images become ``(N, H, W, C)`` arrays: uint8 stays uint8 (scaled on the fly per batch),
other dtypes become float32 and are used as given, as in Keras. uint8 images are scaled to
[0, 1] only for a model that would otherwise learn from raw pixels: one that rescales them
itself (``Rescaling`` before its first weights), or has no weights, gets the raw values,
as in Keras (:func:`takes_raw_pixels`). ``(N, H, W)`` grayscale
arrays get their channel axis added. Labels are checked against the model's output.
"""

from __future__ import annotations

import os

import numpy as np

from ..data.dataset import ImageDataset
from ..data.rows import ImageRows
from ..errors import ConfigError, ShapeError
from ..train.losses import Loss


def as_images(x, what: str = "x") -> np.ndarray | ImageRows:
    """``(N, H, W, C)`` uint8 or float32 images from an array, list or ImageDataset; a
    float ``(N, D)`` array (e.g. a frozen backbone's features) passes as vectors, as in
    Keras, for a model whose input is ``(D,)``. A dataset's images, and row views of them
    (:class:`~cnnkit.data.rows.ImageRows`), pass unread: batches read their own rows."""
    if isinstance(x, ImageDataset):
        return x.images
    if isinstance(x, ImageRows) and x.dtype == np.uint8 and x.ndim == 4:
        return x
    if x is None:
        raise ShapeError(f"{what} is missing", hint="pass images as an (N, H, W, C) array "
                         "or a cnnkit.data.ImageDataset")
    if isinstance(x, str | os.PathLike):
        raise ShapeError(f"{what} is a file name ({x}); the model takes image arrays",
                         hint="load the image first (keras.utils.load_img and img_to_array, "
                              "then x[None]), or predict files with `cnnkit predict FILE` or "
                              "cnnkit.predict.predict_files")
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        x = x if isinstance(x, np.ndarray) else np.asarray(x)  # a memmap stays one
    except ValueError as exc:  # a list of arrays of different shapes
        raise ShapeError(f"{what} holds images of different shapes ({exc})",
                         hint="resize them to one size first, or load the folder with "
                              "cnnkit.data.load(path, image_size=(H, W))") from None
    if x.ndim == 3:
        x = x[..., None]  # grayscale (N, H, W): add the channel axis, as np.expand_dims(x, -1)
    if x.ndim not in (2, 4) or (x.ndim == 2 and x.dtype == np.uint8):
        raise ShapeError(
            f"{what} has shape {x.shape}; images must be (N, H, W, C) or (N, H, W), "
            "feature vectors (N, D) floats",
            hint="for a single image use x[None] (or np.expand_dims(x, 0)); "
                 "for grayscale add the channel axis with np.expand_dims(x, -1)")
    if x.dtype == np.uint8:
        return x
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ShapeError(f"{what} has dtype {x.dtype}; images must be numeric")
    return x.astype(np.float32, copy=False)


def takes_raw_pixels(layers) -> bool:
    """True when uint8 images must reach ``layers`` as raw pixel values (0..255 floats), as
    Keras gives them: a layer that rescales its input (``Rescaling``) comes before any layer
    with weights, or no layer has weights (an augmentation block). Otherwise cnnkit's
    convenience applies: uint8 images are scaled to [0, 1]."""
    for layer in (leaf for outer in layers for leaf in outer.leaf_layers()):
        if layer.rescales_input:
            return True
        if layer.holds_weights():
            return False
    return True


def count_argument(value, what: str, default: int, minimum: int = 1) -> int:
    """``value`` (``default`` when None) checked as an integer of at least ``minimum``, for
    ``batch_size`` and ``epochs``: ``batch_size=0`` must not quietly mean 32."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{what} must be an integer of at least {minimum}, got {value!r}",
                          hint=f"e.g. {what}={default}")
    return int(value)


def validation_parts(validation_data) -> tuple:
    """``(x, y, sample_weight)`` from Keras's ``validation_data``: ``(x, y)``,
    ``(x, y, sample_weight)`` or an ImageDataset."""
    if isinstance(validation_data, ImageDataset):
        return validation_data, None, None
    if isinstance(validation_data, tuple | list) and len(validation_data) in (2, 3):
        return (*validation_data, None)[:3]
    raise ShapeError("validation_data must be (x, y), (x, y, sample_weight) or an "
                     f"ImageDataset, got {type(validation_data).__name__}"
                     + (f" of length {len(validation_data)}"
                        if isinstance(validation_data, tuple | list) else ""),
                     hint="e.g. validation_data=(x_val, y_val)")


def check_input_shape(images: np.ndarray, expected: tuple[int, ...], what: str = "x") -> None:
    """Raise a ShapeError that says what to do when images don't fit the model."""
    got = tuple(images.shape[1:])
    if got == tuple(expected):
        return
    if images.ndim == len(expected) + 1 and tuple(images.shape[:len(expected)]) == expected \
            and images.shape[-1] == 1:  # one image (H, W, C), read as H grayscale images
        raise ShapeError(f"{what} has shape {images.shape[:-1]}: one image of the model's "
                         f"input shape {tuple(expected)}, without the batch axis",
                         hint="add the batch axis: x[None] (or np.expand_dims(x, 0)) for "
                              "one image, np.stack(images) for several")
    if images.ndim == 2 and len(expected) == 3:  # vectors, or one grayscale image
        raise ShapeError(f"{what} has shape {images.shape}: vectors (N, D), but the model "
                         f"takes images of shape {tuple(expected)}",
                         hint="for one grayscale image add the batch and channel axes: "
                              "x[None, ..., None]")
    hint = "resize the images to the model's input size"
    if got[:2] == tuple(expected[:2]) and got[2] != expected[2]:
        hint = (f"the model expects {expected[2]} channel(s) but the images have {got[2]}; "
                "convert them (grayscale <-> RGB) or rebuild the model with "
                f"input_shape={got}")
    elif len(got) == len(expected):
        hint = (f"load the images with image_size=({expected[0]}, {expected[1]}), or build "
                f"the model with input_shape={got}")
    raise ShapeError(f"{what} has images of shape {got} but the model expects {tuple(expected)}",
                     hint=hint)


def check_classifier_output(layer_inputs, output_shape, labels) -> None:
    """Raise a ShapeError naming the layer to fix when a classifier's output is not one
    vector per image (``layer_inputs``: each layer call with its input shape): in Keras,
    ``Dense`` on images acts on each pixel, the output stays an image and only the loss
    fails, with a shape mismatch."""
    output = tuple(output_shape)
    if len(output) == 1:
        return
    dense = next((layer for layer, shape in layer_inputs
                  if layer.keras_name == "Dense" and len(shape) == 3), None)
    if dense is not None:
        hint = (f"add Flatten() or GlobalAveragePooling2D() before Dense {dense.name!r}: "
                "Dense on images acts on each pixel's channels, so its output stays an image")
    else:
        hint = ("end the model with Flatten() (or GlobalAveragePooling2D()) and "
                "Dense(number of classes, activation='softmax')")
    raise ShapeError(f"the model's output has shape {(None, *output)} but the labels are "
                     f"{(None, *np.shape(labels)[1:])}: a classifier must output one vector "
                     "per image",
                     hint=hint)


def as_targets(y, loss: Loss, units: int, n: int, what: str = "y") -> np.ndarray:
    """Labels as the loss wants them, checked against ``units`` outputs and ``n`` images."""
    if y is None:
        raise ShapeError(f"{what} (the labels) is missing",
                         hint="pass labels, or pass a cnnkit.data.ImageDataset as x")
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ShapeError(f"{what} holds {y.dtype} values; labels must be class indices "
                         "(0, 1, ...) or one-hot rows",
                         hint="map class names to indices, e.g. names, y = np.unique(y, "
                              "return_inverse=True)")
    if len(y) != n:
        raise ShapeError(f"x has {n} images but {what} has {len(y)} labels",
                         hint="give exactly one label per image")
    if loss.binary:
        if units != 1:
            raise ShapeError(f"binary_crossentropy needs a model with 1 output unit, not "
                             f"{units}", hint="end the model with Dense(1, activation='sigmoid') "
                             "or use sparse_categorical_crossentropy")
        if n and (y.min() < 0 or y.max() > 1):
            raise ShapeError(f"{what} has labels from {y.min():g} to {y.max():g}, but "
                             "binary_crossentropy needs labels 0 or 1 (or probabilities)",
                             hint=f"for {int(y.max()) + 1} classes use loss="
                                  "'sparse_categorical_crossentropy' with Dense("
                                  f"{int(y.max()) + 1}, activation='softmax')")
        return y.astype(np.float32).reshape(n, 1)
    index_labels = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
    if loss.sparse_labels and not index_labels:
        raise ShapeError(f"{what} has shape {y.shape}: it looks one-hot, but "
                         "sparse_categorical_crossentropy wants class indices",
                         hint="use loss='categorical_crossentropy', or pass y.argmax(axis=1)")
    if index_labels:
        labels = y.reshape(n)
        integral = np.issubdtype(labels.dtype, np.integer) or bool(
            np.all(np.equal(np.mod(labels, 1), 0)))
        if not integral:
            raise ShapeError(f"{what} holds non-integer class labels",
                             hint="sparse labels must be class indices 0..units-1")
        labels = labels.astype(np.int64)
        if n and (labels.min() < 0 or labels.max() >= units):
            raise ShapeError(
                f"{what} has labels from {labels.min()} to {labels.max()}, but the model has "
                f"{units} output units, so labels must lie in [0, {units})",
                hint=f"make the last Dense layer Dense({labels.max() + 1}) or fix the labels")
        if loss.sparse_labels:
            return labels
        return np.eye(units, dtype=np.float32)[labels]  # categorical loss with index labels
    if y.ndim != 2 or y.shape[1] != units:
        raise ShapeError(f"{what} has shape {y.shape} but the model outputs {units} classes",
                         hint="one-hot labels need one column per output unit")
    return y.astype(np.float32)
