"""The report in a real browser: headless Chromium opens it offline, every image decodes,
every section is there, and the screenshot shows the page (scripts/render_report.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from report_helpers import PLOTS, SECTION_IDS, train_run

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "render_report.py"

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (Debian: apt-get install chromium), so the report is "
           "not checked in a browser")


def render(run_dir: Path, screenshot: Path) -> tuple[int, dict]:
    """Run the script; its exit code and the JSON it printed."""
    done = subprocess.run([sys.executable, str(SCRIPT), str(run_dir), str(screenshot)],
                          capture_output=True, text=True, timeout=300)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return train_run(tmp_path_factory.mktemp("browser"))


def test_chromium_shows_every_section_and_image(run_dir, tmp_path):
    code, result = render(run_dir, tmp_path / "report.png")
    assert code == 0, result["problems"]
    assert [s["id"] for s in result["sections"]] == list(SECTION_IDS)
    assert all(s["title"] and s["height"] > 80 for s in result["sections"])
    assert result["images"] == len(PLOTS) and result["broken_images"] == []
    assert result["external_requests"] == []
    with Image.open(tmp_path / "report.png") as shot:
        assert shot.width == 1280 and shot.height >= result["height"]
        darkest, lightest = shot.convert("L").getextrema()
        assert darkest < 60 and lightest > 230  # text and plots on a light page


def test_the_check_fails_on_a_broken_or_remote_image(run_dir, tmp_path):
    text = (run_dir / "report.html").read_text()
    start = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    damaged = text[:start] + "bm90IGEgcG5n" + text[text.index('"', start):]
    remote = damaged.replace("</main>", '<img src="https://example.com/plot.png" alt="remote">'
                                        "</main>")
    (tmp_path / "report.html").write_text(remote)
    code, result = render(tmp_path, tmp_path / "report.png")
    assert code == 1
    assert len(result["broken_images"]) == 2 and "remote" in result["broken_images"]
    assert result["external_requests"] == ["https://example.com/plot.png"]
    assert any("broken image" in problem for problem in result["problems"])
