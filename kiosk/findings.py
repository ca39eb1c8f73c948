"""What a check of the kiosk found: pass, warn or fail, and a sentence; doctor makes them, the wizard shows them."""

from __future__ import annotations

from dataclasses import dataclass

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    message: str  # what was found, and what to do when it is not a pass
