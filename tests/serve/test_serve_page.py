"""The serving page in headless Chromium: it loads from the server alone (no request leaves
127.0.0.1), a real digit chosen in its file input comes back as bars whose classes are the
model's top five, in order, with a Grad-CAM overlay, and a screenshot is saved
(serve_page.png in the test's temporary folder: pytest --basetemp=DIR keeps it)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from chromium_pipe import Chromium
from cnnkit.data.decode import decode
from mnist_model import trained_mnist
from sample_images import mnist_pngs
from serve_helpers import require_serve_packages

require_serve_packages()
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium), "
                             "so the serving page is not checked in a browser")


def test_the_page_classifies_an_uploaded_image_offline(digits_server, tmp_path):
    digit = tmp_path / "digit.png"
    digit.write_bytes(mnist_pngs(1)[0])
    expected = trained_mnist().predict(decode(digit.read_bytes(), 28, 28, 1)[None],
                                       verbose=0)[0]
    origin = f"http://{digits_server.host}:{digits_server.port}"
    browser = Chromium(CHROMIUM, tmp_path / "profile")
    try:
        browser.navigate(origin + "/")
        browser.wait_until("document.getElementById('about').textContent"
                           ".includes('parameters')")
        browser.upload("#pick", digit)
        browser.wait_until("document.body.dataset.state === 'done'")
        shown = browser.evaluate(
            "[...document.querySelectorAll('#bars .bar')].map(b => "
            "[b.querySelector('.class').textContent, b.className])")
        overlay = browser.evaluate("document.getElementById('gradcam').naturalWidth")
        browser.screenshot(tmp_path / "serve_page.png")
    finally:
        browser.close()
    assert shown[0] == [str(int(np.argmax(expected))), "bar top"]
    assert [name for name, _ in shown] == [str(i) for i in np.argsort(-expected)[:5]]
    assert overlay == 256
    assert browser.requests and all(url.startswith((origin + "/", "blob:", "data:"))
                                    for url in browser.requests), browser.requests
    with Image.open(tmp_path / "serve_page.png") as shot:
        assert shot.width == 1000
        assert len(shot.convert("RGB").getcolors(1 << 20)) > 50  # image and bars, not blank
