"""The screen first: on a slow terminal's one core, the kiosk's helper processes run below the GUI thread.

espeak-ng and the QR encoder are processes of their own, started at nice 10: a runnable GUI thread then gets
~9 of 10 turns of a shared core (CFS weights 1024 : 110). The kiosk's Python threads stay at its own priority:
a lowered thread that needs the GIL waits for it behind every thread above it (the voice test under the set-up
wizard's busy screen heard nothing for 10 s), so they hold the GIL briefly instead.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Sequence

NICE = 10


def below_the_screen(command: Sequence[str]) -> list[str]:
    """`command` as started at nice NICE (as it is where `nice` is missing)."""
    nice = _nice()
    return [nice, "-n", str(NICE), *command] if nice else list(command)


@functools.cache  # looked up once, not on every prompt's PATH walk
def _nice() -> str | None:
    return shutil.which("nice")
