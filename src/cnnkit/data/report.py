"""What a load did: images kept per class and files skipped per reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Every reason a file can be skipped for, with the words the summary uses.
SKIP_REASONS: dict[str, str] = {
    "empty_file": "zero-byte file",
    "not_an_image": "not an image (content is not a known image format)",
    "corrupt": "corrupt or truncated image data",
    "too_large": "absurd pixel count or file size (decompression-bomb guard)",
    "unreadable": "file could not be read (permissions or I/O error)",
    "symlink_loop": "symbolic link loop",
    "hidden": "hidden or system file (.DS_Store, __MACOSX/, Thumbs.db, dot-files)",
    "not_image_extension": "file extension is not an image type",
    "unsafe_path": "archive member with an absolute or '..' path (untrusted, never extracted)",
    "not_regular_file": "not a regular file (a link in an archive, a FIFO, device or socket)",
    "missing_file": "listed file does not exist",
    "unknown_label": "label not among the known classes",
    "bad_row": "malformed list row",
    "no_class_folder": "image outside any class folder",
}


@dataclass
class Skip:
    """One file that was not loaded, and why."""

    path: str
    reason: str
    detail: str = ""


@dataclass
class LoadReport:
    """Counts of what a load kept and skipped, and why.

    ``skipped`` lists every skipped file; ``empty_classes`` names class folders that held no
    usable image; ``warnings`` carries anything else worth telling the user.
    """

    skipped: list[Skip] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def skip(self, path: str, reason: str, detail: str = "") -> None:
        """Record one skipped file. ``reason`` must be a key of ``SKIP_REASONS``."""
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}")
        self.skipped.append(Skip(path, reason, detail))

    def skip_counts(self) -> dict[str, int]:
        """Number of skipped files per reason, most frequent first."""
        return dict(Counter(s.reason for s in self.skipped).most_common())

    def merge(self, other: LoadReport) -> None:
        """Add another report's skips and warnings to this one."""
        self.skipped.extend(other.skipped)
        self.empty_classes.extend(c for c in other.empty_classes if c not in self.empty_classes)
        self.warnings.extend(other.warnings)

    def to_dict(self) -> dict:
        """A JSON-ready view: counts per reason plus every skipped file."""
        return {
            "skipped_total": len(self.skipped),
            "skipped_by_reason": self.skip_counts(),
            "skipped_files": [vars(s) for s in self.skipped],
            "empty_classes": list(self.empty_classes),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LoadReport:
        """Rebuild a report saved with :meth:`to_dict`."""
        return cls(
            skipped=[Skip(**s) for s in data.get("skipped_files", [])],
            empty_classes=list(data.get("empty_classes", [])),
            warnings=list(data.get("warnings", [])),
        )

    def hint(self, advice: str = "") -> str:
        """``advice`` followed by the skip summary, or by "no files were found" when nothing
        was skipped either (an empty folder)."""
        lines = self.summary_lines()
        tail = ("see the skip summary:\n" + "\n".join(lines) if lines
                else "no files were found there")
        return f"{advice}; {tail}" if advice else tail

    def summary_lines(self) -> list[str]:
        """Human-readable lines on what was skipped; empty when nothing was."""
        lines = []
        if self.skipped:
            lines.append(f"skipped {len(self.skipped):,} file(s):")
            for reason, n in self.skip_counts().items():
                lines.append(f"  {n:>6,}  {reason}: {SKIP_REASONS[reason]}")
        if self.empty_classes:
            lines.append("class folders with no usable image (left out): "
                         + ", ".join(self.empty_classes))
        lines.extend(f"warning: {w}" for w in self.warnings)
        return lines
