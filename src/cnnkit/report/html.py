"""The report page: sections of HTML blocks and plots, assembled into one self-contained
file. Every piece of text goes through :func:`html.escape`; plots are embedded as base64
PNG ``data:`` URIs and the style sheet is inline, so the page needs no network and no
other file.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PATH_SETTINGS = ("data", "val", "test", "model", "out")  # config.yaml keys holding paths


@dataclass(frozen=True)
class Plot:
    """A figure rendered to PNG; ``name`` is its file name in ``report/`` (without .png)."""

    name: str
    png: bytes
    alt: str


@dataclass
class Section:
    """One part of the page: an ``id`` to link to, an ``<h2>`` title, and its blocks in
    order (HTML strings made with this module's helpers, or plots)."""

    id: str
    title: str
    blocks: list[str | Plot] = field(default_factory=list)

    @property
    def plots(self) -> list[Plot]:
        """The plots among the blocks."""
        return [block for block in self.blocks if isinstance(block, Plot)]


def escape(value: object) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def _class(css_class: str | None) -> str:
    """A ``class`` attribute, or nothing."""
    return f' class="{escape(css_class)}"' if css_class else ""


def paragraph(text: str, css_class: str | None = None) -> str:
    """A ``<p>`` of plain text."""
    return f"<p{_class(css_class)}>{escape(text)}</p>"


def note(text: str) -> str:
    """A note that says why something is missing."""
    return paragraph(text, "note")


def preformatted(text: str, css_class: str | None = None) -> str:
    """Monospaced text kept as it is (tables drawn with box characters, YAML)."""
    return f"<pre{_class(css_class)}>{escape(text)}</pre>"


def heading(text: str) -> str:
    """A sub-heading inside a section."""
    return f"<h3>{escape(text)}</h3>"


def bullet_list(items: Iterable[str]) -> str:
    """A ``<ul>`` of plain-text items."""
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = "",
          css_class: str = "") -> str:
    """A table; ``align`` gives ``l`` or ``r`` per column (default left), e.g. ``"lrrr"``."""
    def cell(tag: str, index: int, value: object) -> str:
        numeric = "num" if index < len(align) and align[index] == "r" else None
        return f"<{tag}{_class(numeric)}>{escape(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table{_class(css_class)}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def plot_html(plot: Plot) -> str:
    """The plot as an ``<img>`` whose source is the PNG itself, base64-encoded."""
    data = base64.b64encode(plot.png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(plot.alt)}">'
            "</figure>")


def page(title: str, summary: str, sections: Sequence[Section]) -> str:
    """The whole document: title, ``summary`` (HTML), a table of contents, the sections."""
    contents = "".join(f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>'
                       for s in sections)
    body = "".join(
        f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>'
        + "".join(plot_html(b) if isinstance(b, Plot) else b for b in s.blocks)
        + "</section>" for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>"
            f"<header><h1>{escape(title)}</h1>{summary}"
            f'<nav><ol>{contents}</ol></nav></header>{body}</main></body></html>\n')


STYLE = """
:root { --ink: #1d2330; --muted: #5b6474; --line: #dde2ea; --panel: #ffffff;
        --back: #f3f5f8; --accent: #2457a6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--back); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
header, section { background: var(--panel); border: 1px solid var(--line);
                  border-radius: 8px; padding: 18px 24px; margin-bottom: 18px; }
h1 { margin: 0 0 6px; font-size: 24px; }
h2 { margin: 0 0 12px; font-size: 20px; border-bottom: 1px solid var(--line);
     padding-bottom: 6px; }
h3 { margin: 18px 0 8px; font-size: 16px; }
nav ol { margin: 10px 0 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap;
         gap: 6px 18px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.headline { display: flex; flex-wrap: wrap; gap: 10px 28px; margin: 10px 0; }
.headline div { min-width: 110px; }
.headline b { display: block; font-size: 22px; }
.headline span, .muted { color: var(--muted); font-size: 13px; }
.note { color: var(--muted); font-style: italic; background: var(--back);
        border-left: 3px solid var(--line); padding: 8px 12px; }
figure { margin: 10px 0; overflow-x: auto; }
figure img { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 14px; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: var(--back); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.wide { width: 100%; }
table.wide td { word-break: break-word; }
pre { background: var(--back); border: 1px solid var(--line); border-radius: 6px;
      padding: 10px 12px; overflow-x: auto; font-size: 13px; line-height: 1.15;
      font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre.columns { column-count: 3; column-gap: 24px; line-height: 1.4; }
table.evidence td { white-space: pre-line; }
.finding { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px;
           padding: 10px 16px; margin: 12px 0; }
.finding h3 { margin: 0 0 6px; }
.finding.critical { border-left-color: #c62828; }
.finding.warning { border-left-color: #e0a100; }
.finding.info { border-left-color: #2f7ed8; }
.badge { display: inline-block; padding: 1px 8px; margin-right: 8px; border-radius: 10px;
         font-size: 12px; font-weight: 600; text-transform: uppercase; color: #fff;
         vertical-align: 2px; }
.badge.critical { background: #c62828; }
.badge.warning { background: #b88400; }
.badge.info { background: #2f7ed8; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
"""


def shown_path(value) -> str:
    """A path as a shared report shows it: its name only when it is absolute (a local path
    means nothing to the reader and tells where the author keeps files)."""
    text = str(value)
    return Path(text).name if Path(text).is_absolute() else text


def shown_settings(settings: dict) -> dict:
    """config.yaml's settings as the report shows them, paths through :func:`shown_path`."""
    return {key: shown_path(value) if key in PATH_SETTINGS and value else value
            for key, value in settings.items()}
