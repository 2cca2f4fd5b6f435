"""The served model: loaded once, warmed up before the server answers, and run compiled
only where that measured faster on this machine.

``torch.compile`` made batch prediction about 1.24x faster at batch 256 on the tutorial
CNNs but costs seconds to compile and more than it saves on one image (DESIGN.md,
models/inference.py). A server's batches are its ``max_batch`` at most, so the warm-up
times full batches of that size eagerly and compiled (when ``compile`` is None, "auto")
and keeps the faster; partial batches always run eagerly.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import LayerError
from ..models.inference import COMPILE_MIN_BATCH
from ..models.probabilities import class_probabilities

TIMED_ROUNDS = 7
PAYS = 0.95  # compiled must take at most this share of the eager time to be used
OVERLAY_SIDE = 256


class Predictor:
    """Probabilities and Grad-CAM overlays for uint8 images at the model's input shape."""

    def __init__(self, model, source: str | Path, max_batch: int):
        self.model, self.source, self.max_batch = model, str(source), max_batch
        self.shape = tuple(int(d) for d in model.input_shape[1:])
        self.class_names = list(model.class_names or
                                [str(i) for i in range(self._class_count())])
        self.compiled = False
        self.warm_up_note = ""

    def _class_count(self) -> int:
        units = int(self.model.output_shape[-1])
        return 2 if units == 1 else units

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """One row of class probabilities per image."""
        outputs = self.model.predict(images, batch_size=self.max_batch, verbose=0)
        return class_probabilities(self.model, outputs).astype(np.float32)

    def warm_up(self, compile: bool | None) -> str:
        """Run the model before the first request; with ``compile`` None, time eager and
        compiled full batches and keep the faster. Returns what was decided."""
        batch = np.random.default_rng(0).integers(0, 256, (self.max_batch, *self.shape),
                                                  dtype=np.uint8)
        self.model.jit_compile = False
        eager = self._median_seconds(batch)
        self.explain(batch[0])
        note = f"eager {eager * 1e3:.2f} ms per batch of {self.max_batch}"
        if compile is False or self.max_batch < COMPILE_MIN_BATCH:
            self.warm_up_note = note + ("" if compile is False else
                                        f"; not compiled (batches under {COMPILE_MIN_BATCH})")
            return self.warm_up_note
        self.model.jit_compile = True
        started = time.perf_counter()
        self.probabilities(batch)  # compiles (cached on disk for the next start)
        compiling = time.perf_counter() - started
        compiled = self._median_seconds(batch)
        self.compiled = compile is True or compiled <= PAYS * eager
        self.model.jit_compile = self.compiled
        self.warm_up_note = (f"{note}, compiled {compiled * 1e3:.2f} ms (compiling took "
                             f"{compiling:.1f} s): {'compiled' if self.compiled else 'eager'}")
        return self.warm_up_note

    def _median_seconds(self, batch: np.ndarray) -> float:
        self.probabilities(batch)
        times = []
        for _ in range(TIMED_ROUNDS):
            started = time.perf_counter()
            self.probabilities(batch)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    def explain(self, image: np.ndarray) -> str | None:
        """The Grad-CAM overlay of the predicted class as a PNG data URI, or None for a
        model without a convolution layer to explain."""
        from ..explain.gradcam import gradcam, overlay

        try:
            result = gradcam(self.model, image)
        except LayerError:
            return None
        picture = Image.fromarray(overlay(image, result.heatmap))
        scale = OVERLAY_SIDE / max(picture.size)
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)),
                                 Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    def info(self) -> dict:
        """What ``GET /model`` answers: classes, input, parameters, training metrics."""
        height, width, channels = self.shape
        return {"name": self.model.name, "source": self.source, "classes": self.class_names,
                "input": {"height": height, "width": width, "channels": channels,
                          "note": "any image is resized to this (scale to cover, centre "
                                  "crop) and converted to "
                                  + ("grayscale" if channels == 1 else "RGB")},
                "parameters": int(self.model.count_params()),
                "compiled": self.compiled, "warm_up": self.warm_up_note,
                "training_metrics": training_metrics(Path(self.source))}


def training_metrics(model_path: Path) -> dict | None:
    """The test-set numbers of the run that trained the model (``metrics.json`` of the run
    folder, ``runs/NAME/model/best`` -> ``runs/NAME``), the single values only; None for a
    model saved outside a run."""
    for folder in list(model_path.resolve().parents)[:3]:
        path = folder / "metrics.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                return None
            return {k: v for k, v in data.items() if isinstance(v, (int, float, str))}
    return None
