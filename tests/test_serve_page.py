"""The serving page in headless Chromium: it loads from the server alone (no request leaves
127.0.0.1), a real photo chosen in its file input comes back as bars whose top class is the
model's, with a Grad-CAM overlay, and a screenshot is saved (serve_page.png in the test's
temporary folder: pytest --basetemp=DIR keeps it where you can look at it)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from chromium_pipe import Chromium
from cnnkit.data.decode import decode
from cnnkit.seeding import set_seed
from cnnkit.zoo import tutorial_cifar10
from conftest import sample_arrays
from serve_helpers import require_serve_packages, running_server

require_serve_packages()
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium), "
                             "so the serving page is not checked in a browser")
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


@pytest.fixture(scope="module")
def model_file(cifar_sample, tmp_path_factory) -> tuple:
    """The CIFAR-10 tutorial CNN fitted to 40 real photos, so its classes stand apart."""
    x, y = sample_arrays(cifar_sample["train"], CLASSES)
    set_seed(0)
    model = tutorial_cifar10()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=30, batch_size=20, verbose=0)
    model.class_names = CLASSES
    path = tmp_path_factory.mktemp("page") / "cifar.keras"
    model.save(path)
    return model, path


def test_the_page_classifies_an_uploaded_photo_offline(model_file, cifar_sample, tmp_path):
    model, path = model_file
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(cifar_sample["test"]["ship"][0])
    expected = model.predict(decode(photo.read_bytes(), 32, 32, 3)[None], verbose=0)[0]
    top = CLASSES[int(np.argmax(expected))]
    with running_server(path, tmp_path / "stderr.log") as server:
        origin = f"http://{server.host}:{server.port}"
        browser = Chromium(CHROMIUM, tmp_path / "profile")
        try:
            browser.navigate(origin + "/")
            browser.wait_until("document.getElementById('about').textContent"
                               ".includes('parameters')")
            browser.upload("#pick", photo)
            browser.wait_until("document.body.dataset.state === 'done'")
            shown = browser.evaluate(
                "[...document.querySelectorAll('#bars .bar')].map(b => "
                "[b.querySelector('.class').textContent, b.className])")
            overlay = browser.evaluate("document.getElementById('gradcam').naturalWidth")
            browser.screenshot(tmp_path / "serve_page.png")
        finally:
            browser.close()
    assert shown[0] == [top, "bar top"] and len(shown) == 5
    assert [name for name, _ in shown] == [CLASSES[i] for i in np.argsort(-expected)[:5]]
    assert overlay == 256
    assert browser.requests and all(url.startswith((origin + "/", "blob:", "data:"))
                                    for url in browser.requests), browser.requests
    with Image.open(tmp_path / "serve_page.png") as shot:
        assert shot.width == 1000
        assert len(shot.convert("RGB").getcolors(1 << 20)) > 50  # a photo and bars, not blank
