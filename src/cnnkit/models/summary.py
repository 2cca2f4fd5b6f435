"""``model.summary()`` in the table format Keras 3 prints.

Keras splits ``line_length`` at ``positions`` (``[0.45, 0.80, 1.0]`` for a sequential
table, ``[0.3, 0.56, 0.74, 1.0]`` with the "Connected to" column of a branching model)
and rich then fits those columns, one padding space either side, into ``line_length``
by taking the excess from each column in turn. ``line_length`` defaults to 76: Keras's
default (88 or 108) in an 80-column terminal, where it is capped at the width minus 4,
which is how the reference printouts were made. A cell wraps at spaces; a word too long
for its column ends in "…", as rich prints it.
"""

from __future__ import annotations

import textwrap

LINE_LENGTH = 76
SEQUENTIAL_POSITIONS = (0.45, 0.80, 1.0)
GRAPH_POSITIONS = (0.3, 0.56, 0.74, 1.0)


def readable_size(n_bytes: float) -> str:
    """Bytes as Keras prints them: ``879.04 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def column_widths(line_length: int, positions) -> list[int]:
    """Each column's width between the borders, padding included, as Keras + rich draw it."""
    wanted, current = [], 0
    for pos in positions:
        width = int(pos * line_length)
        wanted.append(width - current + 2)
        current = width
    excess = sum(wanted) - (line_length - len(wanted) - 1)
    widths, columns = [], len(wanted)
    for width in wanted:  # rich's ratio_reduce with equal ratios
        cut = min(width, round(excess / columns)) if excess > 0 else 0
        widths.append(width - cut)
        excess -= cut
        columns -= 1
    return widths


def _cell_lines(text: str, width: int) -> list[str]:
    lines = textwrap.wrap(text, width - 2, break_long_words=False) or [""]
    return [line if len(line) <= width - 2 else line[:width - 3] + "…" for line in lines]


def _row(cells: list[str], widths: list[int], aligns: str) -> list[str]:
    wrapped = [_cell_lines(c, w) for c, w in zip(cells, widths, strict=True)]
    height = max(len(w) for w in wrapped)
    lines = []
    for i in range(height):
        parts = []
        for lines_of_cell, width, align in zip(wrapped, widths, aligns, strict=True):
            text = lines_of_cell[i] if i < len(lines_of_cell) else ""
            text = text.rjust(width - 2) if align == "r" else text.ljust(width - 2)
            parts.append(f" {text} ")
        lines.append("│" + "│".join(parts) + "│")
    return lines


def _rule(widths: list[int], left: str, mid: str, right: str, fill: str) -> str:
    return left + mid.join(fill * w for w in widths) + right


def format_summary(model_name: str, rows: list[tuple], trainable: int, non_trainable: int,
                   line_length: int | None = None, positions=None) -> str:
    """The Keras table for ``rows`` of ``(name (Type), output shape, params)``, or of
    ``(name (Type), output shape, params, connected to)`` for a branching model."""
    connected = bool(rows) and len(rows[0]) == 4
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    aligns = "llrl"[:len(header)]
    positions = positions or (GRAPH_POSITIONS if connected else SEQUENTIAL_POSITIONS)
    widths = column_widths(line_length or LINE_LENGTH, positions)
    lines = [f'Model: "{model_name}"', _rule(widths, "┏", "┳", "┓", "━")]
    lines.extend(line.replace("│", "┃") for line in _row(header, widths, aligns))
    lines.append(_rule(widths, "┡", "╇", "┩", "━"))
    for index, (name, shape, params, *links) in enumerate(rows):
        lines.extend(_row([name, shape, f"{params:,}", *links], widths, aligns))
        if index < len(rows) - 1:
            lines.append(_rule(widths, "├", "┼", "┤", "─"))
    lines.append(_rule(widths, "└", "┴", "┘", "─"))
    total = trainable + non_trainable
    lines.append(f" Total params: {total:,} ({readable_size(total * 4)})")
    lines.append(f" Trainable params: {trainable:,} ({readable_size(trainable * 4)})")
    lines.append(f" Non-trainable params: {non_trainable:,} ({readable_size(non_trainable * 4)})")
    return "\n".join(lines)


def format_shape(shape: tuple[int, ...]) -> str:
    """``(None, 26, 26, 32)``: the batch dimension first, as ``None``."""
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"
