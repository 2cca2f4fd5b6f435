"""`Finding`: one problem the diagnosis found, with the numbers behind it and what to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEVERITIES = ("critical", "warning", "info")  # most serious first


@dataclass(frozen=True)
class Finding:
    """A diagnosed problem.

    ``rule`` names the rule that fired (see docs/diagnosis.md), ``severity`` is
    ``"critical"``, ``"warning"`` or ``"info"``, ``evidence`` holds the numbers and epochs
    (counted from 1) that triggered it, and ``advice`` lists what to try, most useful first.
    """

    rule: str
    severity: str
    title: str
    evidence: dict = field(default_factory=dict)
    advice: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def format_findings(findings: list[Finding]) -> str:
    """Findings as text: a headline per finding, its evidence, then the advice."""
    if not findings:
        return "no problem found"
    lines: list[str] = []
    for finding in findings:
        lines.append(f"[{finding.severity}] {finding.rule}: {finding.title}")
        lines += [f"    {key}: {format_value(value)}" for key, value in finding.evidence.items()]
        lines += [f"  - {advice}" for advice in finding.advice]
    return "\n".join(lines)


def format_value(value: object) -> str:
    """An evidence value as short text: floats to 4 significant digits, lists and dicts
    flattened to one line."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)
