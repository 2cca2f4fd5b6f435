"""``model.summary()`` in the table format Keras 3 prints."""

from __future__ import annotations

import textwrap

_WIDTHS = (33, 24, 15)


def readable_size(n_bytes: float) -> str:
    """Bytes as Keras prints them: ``879.04 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def _cell_lines(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width - 2, break_long_words=True) or [""]


def _row(cells: list[str], aligns: str) -> list[str]:
    wrapped = [_cell_lines(c, w) for c, w in zip(cells, _WIDTHS, strict=True)]
    height = max(len(w) for w in wrapped)
    lines = []
    for i in range(height):
        parts = []
        for lines_of_cell, width, align in zip(wrapped, _WIDTHS, aligns, strict=True):
            text = lines_of_cell[i] if i < len(lines_of_cell) else ""
            text = text.rjust(width - 2) if align == "r" else text.ljust(width - 2)
            parts.append(f" {text} ")
        lines.append("│" + "│".join(parts) + "│")
    return lines


def _rule(left: str, mid: str, right: str, fill: str) -> str:
    return left + mid.join(fill * w for w in _WIDTHS) + right


def format_summary(model_name: str, rows: list[tuple[str, str, int]], trainable: int,
                   non_trainable: int) -> str:
    """The Keras table for ``rows`` of ``(name (Type), output shape, params)``."""
    lines = [f'Model: "{model_name}"', _rule("┏", "┳", "┓", "━")]
    header = ["Layer (type)", "Output Shape", "Param #"]
    lines.extend(line.replace("│", "┃") for line in _row(header, "llr"))
    lines.append(_rule("┡", "╇", "┩", "━"))
    for index, (name, shape, params) in enumerate(rows):
        lines.extend(_row([name, shape, f"{params:,}"], "llr"))
        if index < len(rows) - 1:
            lines.append(_rule("├", "┼", "┤", "─"))
    lines.append(_rule("└", "┴", "┘", "─"))
    total = trainable + non_trainable
    lines.append(f" Total params: {total:,} ({readable_size(total * 4)})")
    lines.append(f" Trainable params: {trainable:,} ({readable_size(trainable * 4)})")
    lines.append(f" Non-trainable params: {non_trainable:,} ({readable_size(non_trainable * 4)})")
    return "\n".join(lines)


def format_shape(shape: tuple[int, ...]) -> str:
    """``(None, 26, 26, 32)``: the batch dimension first, as ``None``."""
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"
