"""Paths a user names directly, checked before anything opens them.

Reading a FIFO waits for a writer that may never come, and a device such as /dev/zero
never ends: given directly to a command, such a path is refused at once. (Inside a
folder, the folder scan already skips them and counts the skip.)
"""

from __future__ import annotations

import os
import stat

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def special_kind(path: str | os.PathLike) -> str | None:
    """What ``path`` (symlinks followed) is when it is neither a regular file nor a folder,
    e.g. "a FIFO (named pipe)"; None for files, folders and paths that do not exist."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((name for test, name in _KINDS if test(mode)), None)
