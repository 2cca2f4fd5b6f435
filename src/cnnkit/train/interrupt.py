"""Ctrl-C during a run: finish the current step, write a checkpoint, then stop cleanly."""

from __future__ import annotations

import contextlib
import signal
import threading


class InterruptFlag:
    """Set by the first SIGINT; a second SIGINT interrupts at once as usual."""

    def __init__(self):
        self.requested = False

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


@contextlib.contextmanager
def catch_interrupt():
    """Install the SIGINT handler for the duration of a run (main thread only)."""
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, flag._handle)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
