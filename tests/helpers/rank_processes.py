"""Find the worker process of one rank under a launcher (torchrun or ``cnnkit train
--nproc``), by reading /proc: its children whose environment says ``RANK=<rank>``."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def rank_pid(launcher: int, rank: int) -> int | None:
    """The pid of rank ``rank`` among the launcher's children, or None (not started yet, or
    already gone)."""
    for pid in children(launcher):
        try:
            environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in environment:
            return pid
    return None
