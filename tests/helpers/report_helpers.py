"""Train a small real run for the report tests, and read the report page back."""

from __future__ import annotations

import html.parser
from dataclasses import dataclass, field
from pathlib import Path

from cnnkit.cli import main
from train_helpers import write_spec

SECTION_IDS = ("curves", "diagnosis", "confusion", "per-class", "worst", "samples", "model",
               "dataset", "config")
PLOTS = ("curves", "confusion", "per_class", "worst", "samples")


def train_run(folder: Path, *extra: str, data: str = "fashion-mnist-mini") -> Path:
    """``cnnkit train`` of the tiny test CNN for 2 epochs on a fifth of ``data``; returns
    the run directory."""
    out = folder / "run"
    code = main(["train", "--data", data, "--model", str(write_spec(folder)), "--epochs", "2",
                 "--fraction", "0.2", "--quiet", "--out", str(out), *extra])
    assert code == 0
    return out


@dataclass
class SectionView:
    """What a test needs of one ``<section>``: its title, notes and image sources."""

    title: str = ""
    notes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


class ReportPage(html.parser.HTMLParser):
    """The sections of a report page, by id, in page order."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: dict[str, SectionView] = {}
        self.images: list[str] = []
        self._current: SectionView | None = None
        self._into: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section":
            self._current = self.sections.setdefault(attributes["id"], SectionView())
        elif tag == "img":
            self.images.append(attributes["src"])
            if self._current is not None:
                self._current.images.append(attributes["src"])
        elif self._current is not None and tag == "h2":
            self._into = "title"
        elif self._current is not None and tag == "p" and attributes.get("class") == "note":
            self._current.notes.append("")
            self._into = "note"

    def handle_endtag(self, tag):
        if tag in ("h2", "p"):
            self._into = None
        elif tag == "section":
            self._current = None

    def handle_data(self, data):
        if self._into == "title":
            self._current.title += data
        elif self._into == "note":
            self._current.notes[-1] += data


def read_page(run_dir: Path) -> ReportPage:
    """Parse ``run_dir/report.html``."""
    return ReportPage((run_dir / "report.html").read_text(encoding="utf-8"))
