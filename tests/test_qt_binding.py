"""The Qt binding keeps the reference counts of what passes between Qt and Python.

PySide6 6.12.0 on Python 3.11 (where None and True are not yet immortal) took a reference to True from every
Signal.emit() (its return value) and one to None from every call of a method that returns nothing: the kiosk
aborted with "deallocating True" after ~180 sessions (bench/soak.py). pyproject.toml keeps PySide6 below 6.12;
this test catches a release that does it again.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication


class Carrier(QObject):
    carried = Signal(object)


def test_signals_and_methods_keep_the_reference_counts_of_none_true_and_what_they_carry(qapp: QApplication) -> None:
    carrier = Carrier()
    got: list[object] = []
    carrier.carried.connect(got.append)
    view = object()  # as the bridge carries each View to the window
    before = sys.getrefcount(view), sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(100):
        carrier.carried.emit(view)
        carrier.setObjectName("carrier")  # returns nothing
    got.clear()
    assert (sys.getrefcount(view), sys.getrefcount(True), sys.getrefcount(None)) == before
