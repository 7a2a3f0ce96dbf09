"""Keys reach the review wherever focus is, except in a text field; Escape returns to the image.

A dock widget that takes focus (the worklist filter after its popup closed, a dock's tab after a
click, a button) would otherwise eat the reader's keys: a combo box picks an item by its first
letter, so "D U Enter" once changed the filter and then stored a wrong decision. The
:class:`KeyRouter` is an event filter on the focused widget of the review window: a key
pressed on any widget of that window that is not a text field is handed to the image canvas (where the review
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
    """Route key presses in ``window`` to ``canvas``; ``on_escape`` runs on every Escape.

    The filter sits on the focused widget only (moved on ``QApplication.focusChanged``): a filter
    on the whole application would run Python for every paint and mouse event.
    """

    def __init__(self, window: QWidget, canvas: QWidget, on_escape: Callable[[], Any]):
        super().__init__(window)
        self.window = window
        self.canvas = canvas
        self.on_escape = on_escape
        self._forwarding = False
        self._watched: Any = None
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._focus_changed)
        self._focus_changed(None, QApplication.focusWidget())

    def _focus_changed(self, _old: Any, new: Any) -> None:
        if self._watched is not None:
            try:
                self._watched.removeEventFilter(self)
            except RuntimeError:  # deleted
                pass
            self._watched = None
        if new is None or new is self.canvas:
            return
        try:
            if new.window() is not self.window:
                return  # a popup, a dialog, another window: its keys are its own
        except RuntimeError:
            return
        new.installEventFilter(self)
        self._watched = new

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            try:
                app.focusChanged.disconnect(self._focus_changed)
            except (RuntimeError, TypeError):
                pass
        self._focus_changed(None, None)

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt override
        if self._forwarding or event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        key = event.key()
        if key == Qt.Key.Key_Escape:
            if event.type() == QEvent.Type.KeyPress:
                self.on_escape()
            return True
        if _modifier_only(key):
            return False
        if is_text_field(watched):
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                # the field takes Enter (returnPressed) and leaves it unaccepted; it would climb to
                # napari's main window, which hands every key to the canvas: a decision. Deliver
                # it to the field alone (``event()`` skips Qt's propagation to the parents).
                watched.event(_copy(event))
                return True
            return False  # typing
        self._forward(event)
        return True

    def _forward(self, event: Any) -> None:
        self._forwarding = True
        try:
            if event.type() == QEvent.Type.KeyPress:
                self.canvas.setFocus()
            QApplication.sendEvent(self.canvas, _copy(event))
        finally:
            self._forwarding = False


def _copy(event: Any) -> QKeyEvent:
    return QKeyEvent(event.type(), event.key(), event.modifiers(), event.text(), event.isAutoRepeat())


def _modifier_only(key: int) -> bool:
    return key in (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr)
