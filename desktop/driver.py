"""Drive the running app with key names from stdin (``radcurate review DIR --keys-from-stdin``).

Each line is one napari key name (``P``, ``Down``, ``Enter``, ``Control-Z``, ``PageDown``…), or
``quit``. A reader thread hands lines to the UI thread, which turns each into a real Qt key
press + release sent to the image canvas: exactly the path a keyboard takes (vispy → napari's
keymap handler → the bound function → the session → ``Project``). Used by the crash test and the
benchmark; also handy to script a demo.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from qtpy.QtCore import QEvent, QObject, Qt, Signal
from qtpy.QtGui import QKeyEvent
from qtpy.QtWidgets import QApplication

_SPECIAL = {
    "Enter": Qt.Key.Key_Return,
    "Return": Qt.Key.Key_Return,
    "Up": Qt.Key.Key_Up,
    "Down": Qt.Key.Key_Down,
    "Left": Qt.Key.Key_Left,
    "Right": Qt.Key.Key_Right,
    "PageUp": Qt.Key.Key_PageUp,
    "PageDown": Qt.Key.Key_PageDown,
    "Home": Qt.Key.Key_Home,
    "End": Qt.Key.Key_End,
    "Backspace": Qt.Key.Key_Backspace,
    "Escape": Qt.Key.Key_Escape,
    "Space": Qt.Key.Key_Space,
    "F1": Qt.Key.Key_F1,
    "[": Qt.Key.Key_BracketLeft,
    "]": Qt.Key.Key_BracketRight,
    "-": Qt.Key.Key_Minus,
    "=": Qt.Key.Key_Equal,
}
_MODIFIERS = {
    "Control": Qt.KeyboardModifier.ControlModifier,
    "Ctrl": Qt.KeyboardModifier.ControlModifier,
    "Shift": Qt.KeyboardModifier.ShiftModifier,
    "Alt": Qt.KeyboardModifier.AltModifier,
}


def qt_key(name: str) -> tuple[Any, Any, str]:
    """(Qt key, modifiers, text) for a napari key name such as ``Control-Z`` or ``Shift-A``."""
    *mods, key = name.replace("+", "-").split("-") if name not in ("-", "+") else [name]
    modifiers = Qt.KeyboardModifier.NoModifier
    for mod in mods:
        modifiers |= _MODIFIERS[mod]
    if key in _SPECIAL:
        return _SPECIAL[key], modifiers, "\r" if key in ("Enter", "Return") else (key if len(key) == 1 else "")
    if len(key) == 1 and key.isalnum():
        code = getattr(Qt.Key, f"Key_{key.upper()}")
        text = key.upper() if Qt.KeyboardModifier.ShiftModifier in modifiers else key.lower()
        return code, modifiers, text
    raise ValueError(f"unknown key name {name!r}")


def send_key(widget: Any, name: str) -> None:
    """Send a real key press and release to ``widget`` (the napari canvas)."""
    key, modifiers, text = qt_key(name)
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, modifiers, text))


class _Lines(QObject):
    line = Signal(str)


class StdinKeyDriver:
    """Reads key names from a stream on a thread; presses them on the UI thread."""

    def __init__(self, app: Any, stream: TextIO | None = None):
        self.app = app
        self.stream = stream or sys.stdin
        self.canvas = app.viewer.window._qt_viewer.canvas.native
        self._lines = _Lines()
        self._lines.line.connect(self._press)
        self._thread = threading.Thread(target=self._read, name="radcurate-keys", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _read(self) -> None:
        for raw in self.stream:
            line = raw.strip()
            if line:
                self._lines.line.emit(line)
        self._lines.line.emit("quit")

    def _press(self, line: str) -> None:
        if line == "quit":
            self.app.viewer.close()
            return
        try:
            send_key(self.canvas, line)
        except ValueError as exc:
            self.app.say(str(exc))
