"""Open a run's report.html in headless Chromium: check it and take a screenshot.

    python scripts/render_report.py RUN_DIR OUT.png [--chromium PATH]

The check loads a copy of the page with a small script added that runs once the page has
loaded, and reads the result from the DOM Chromium dumps. It fails (exit code 1) when an
image is broken (``complete`` but ``naturalWidth == 0``), a section has no ``<h2>``, a link
of the table of contents points at nothing, or the page fetched anything that is not a
``data:`` URI. Host names resolve to nothing, so a page that needs the network fails too.
The screenshot is of the report itself, as tall as the page, 1280 pixels wide.

Prints one JSON object: images, broken images, sections (id, title, height in pixels),
dangling links, external requests, the page height and the screenshot path.
Needs Debian's ``chromium`` package (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH = 1280
MIN_HEIGHT = 4000
MAX_HEIGHT = 16000  # Chromium's screenshots stop growing around 16k pixels
TIMEOUT_SECONDS = 120
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars")

CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const result = {
    images: images.length,
    broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0))
                         .map(i => i.alt || i.src.slice(0, 60)),
    sections: [...document.querySelectorAll("section")].map(s => ({
      id: s.id, title: s.querySelector(":scope > h2")?.textContent ?? null,
      height: Math.round(s.getBoundingClientRect().height)})),
    dangling_links: [...document.querySelectorAll("nav a")].map(a => a.getAttribute("href"))
                         .filter(h => !document.getElementById(h.slice(1))),
    external_requests: performance.getEntriesByType("resource").map(e => e.name)
                         .filter(n => !n.startsWith("data:")),
    height: document.documentElement.scrollHeight,
  };
  const out = document.createElement("pre");
  out.hidden = true;
  out.id = "render-check";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


def chromium(binary: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Run Chromium headless with a fresh profile; fail with its output if it fails."""
    done = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *arguments],
                          capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise SystemExit(f"chromium failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done


def check(binary: str, page: Path, work: Path) -> dict:
    """Load a copy of ``page`` with the check script added; return the script's result."""
    copy = work / "check.html"
    text = page.read_text(encoding="utf-8")
    copy.write_text(text.replace("</body>", CHECK + "</body>", 1), encoding="utf-8")
    dom = chromium(binary, work / "profile-check", f"--window-size={WIDTH},{MIN_HEIGHT}",
                   "--virtual-time-budget=10000", "--dump-dom", copy.as_uri()).stdout
    found = re.search(r'<pre[^>]* id="render-check"[^>]*>(.*?)</pre>', dom, re.S)
    if not found:
        raise SystemExit("the check script left no result: the page did not finish loading")
    return json.loads(html.unescape(found.group(1)))


def problems(result: dict) -> list[str]:
    """What is wrong with the rendered page, if anything."""
    found = [f"broken image: {name}" for name in result["broken_images"]]
    found += [f"section {s['id']!r} has no <h2>" for s in result["sections"] if not s["title"]]
    found += [f"table-of-contents link to nothing: {h}" for h in result["dangling_links"]]
    found += [f"page fetched {url}" for url in result["external_requests"]]
    if not result["sections"]:
        found.append("the page has no section")
    return found


def main(argv: list[str] | None = None) -> int:
    """Check and screenshot RUN_DIR/report.html; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run directory holding report.html")
    parser.add_argument("out", type=Path, help="where to write the screenshot (.png)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium",
                        help="the Chromium binary (default: chromium on PATH)")
    args = parser.parse_args(argv)
    page = (args.run_dir / "report.html").resolve()
    if not page.is_file():
        print(f"error: {page} does not exist; write it with: cnnkit report {args.run_dir}",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="render-report-") as tmp:
        work = Path(tmp)
        result = check(args.chromium, page, work)
        height = min(max(result["height"], MIN_HEIGHT), MAX_HEIGHT)
        out = args.out.resolve()
        chromium(args.chromium, work / "profile-shot", f"--screenshot={out}",
                 f"--window-size={WIDTH},{height}", page.as_uri())
    result["screenshot"] = str(out)
    result["problems"] = problems(result)
    print(json.dumps(result, indent=2))
    return 1 if result["problems"] or not out.is_file() else 0


if __name__ == "__main__":
    sys.exit(main())
