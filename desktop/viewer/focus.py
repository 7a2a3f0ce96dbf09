"""Keys reach the review wherever focus is, except in a text field; Escape returns to the image.

A dock widget that takes focus (the worklist filter after its popup closed, a dock's tab after a
click, a button) would otherwise eat the reader's keys: a combo box picks an item by its first
letter, so "D U Enter" once changed the filter and then stored a wrong decision. The
:class:`KeyRouter` is an application event filter on the review window: a key pressed on any
widget of that window that is not a text field is handed to the image canvas (where the review
keys are bound) and focus moves there; Escape always brings focus back to the canvas, from text
fields too. Popups (a combo box's open list, dialogs) are other windows and keep their keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QEvent, QObject, Qt
from qtpy.QtGui import QKeyEvent
from qtpy.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget


def is_text_field(widget: Any) -> bool:
    """A widget where letters are typing: an editable line, text area, spin box or editable combo."""
    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, QAbstractSpinBox)


class KeyRouter(QObject):
    """Route key presses in ``window`` to ``canvas``; ``on_escape`` runs on every Escape."""

    def __init__(self, window: QWidget, canvas: QWidget, on_escape: Callable[[], Any]):
        super().__init__(window)
        self.window = window
        self.canvas = canvas
        self.on_escape = on_escape
        self._forwarding = False
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt override
        if self._forwarding or event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(watched, QWidget) or watched is self.canvas or QApplication.focusWidget() is self.canvas:
            return False  # the canvas has the keys already (or an unhandled one is on its way up)
        try:
            if watched.window() is not self.window:
                return False  # a popup, a dialog, another window: its keys are its own
        except RuntimeError:  # a widget being deleted
            return False
        key = event.key()
        if key == Qt.Key.Key_Escape:
            if event.type() == QEvent.Type.KeyPress:
                self.on_escape()
            return True
        if is_text_field(watched) or _modifier_only(key):
            return False  # typing
        if is_text_field(QApplication.focusWidget()):
            return True  # a key the text field left (Enter after returnPressed) climbing to napari's
            # main window, which hands every key to the canvas: it must not become a decision
        self._forward(event)
        return True

    def _forward(self, event: Any) -> None:
        copy = QKeyEvent(event.type(), event.key(), event.modifiers(), event.text(), event.isAutoRepeat())
        self._forwarding = True
        try:
            if event.type() == QEvent.Type.KeyPress:
                self.canvas.setFocus()
            QApplication.sendEvent(self.canvas, copy)
        finally:
            self._forwarding = False


def _modifier_only(key: int) -> bool:
    return key in (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr)
