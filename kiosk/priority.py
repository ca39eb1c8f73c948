"""The screen first: on a slow terminal's one core, the kiosk's helper processes run below the GUI thread, and
the work a new screen sets off waits until the screen is drawn (ScreenFirst).

espeak-ng and the QR encoder are processes of their own, started at nice 10: a runnable GUI thread then gets
~9 of 10 turns of a shared core (CFS weights 1024 : 110). The kiosk's Python threads stay at its own priority:
a lowered thread that needs the GIL waits for it behind every thread above it (the voice test under the set-up
wizard's busy screen heard nothing for 10 s), so they hold the GIL briefly instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Sequence

NICE = 10


def below_the_screen(command: Sequence[str]) -> list[str]:
    """`command` as started at nice NICE, below the screen's 0 (as it is where `nice` is missing, or from a
    process at NICE already: the voice's, starting espeak-ng; niceness adds up, and espeak-ng at 19 got a seventh
    of the network worker's share of a busy core)."""
    nice, lower = _nice(), NICE - os.nice(0)
    return [nice, "-n", str(lower), *command] if nice and lower > 0 else list(command)


@functools.cache  # looked up once, not on every prompt's PATH walk
def _nice() -> str | None:
    return shutil.which("nice")


class ScreenFirst:
    """A new screen is drawn before the speech worker and the QR encoder start on what it set off.

    On a slow terminal's one core they shared the processor with the screen's layout and paint, and stretched the
    turn in which a citizen's touch is answered (detail -> notices: the GUI thread ran 12 ms of a 70 ms turn, the
    speech worker and the QR process 8). A prompt heard a screen's paint later (20-40 ms) is not noticed."""

    WAIT_S = 0.25  # the longest a helper waits: a screen that is never drawn (no event loop) delays, never stops

    def __init__(self) -> None:
        self._drawn = threading.Event()
        self._drawn.set()

    def drawing(self) -> None:
        """A new view is on its way to the window (the core thread, before the view's effects)."""
        self._drawn.clear()

    def drawn(self) -> None:
        """The window has laid out and painted what it was sent (the GUI thread)."""
        self._drawn.set()

    def wait(self) -> None:
        """Before a helper's work (its own thread)."""
        self._drawn.wait(self.WAIT_S)
