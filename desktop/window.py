"""The review window's plumbing: a clean stop on close, dock tabs that cannot fail, quiet menus.

napari's menus carry shortcuts that change the image without the canvas saying so (Ctrl+N adds
the clipboard as a layer over the CT, Ctrl+Alt+P plays through the slices, Ctrl+U syncs a 3D
camera, Ctrl+Shift+P opens a palette of every napari command). :func:`quiet_menu_shortcuts`
takes every menu shortcut away except the window's own (open, close, quit, screenshot, zoom,
full screen: ``keep``) for as long as the review runs; the menus still work with the mouse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CloseWatch:
    """Calls ``on_close`` when the window gets its close event, before Qt deletes the docks (their
    timers and workers): a normal exit then stops cleanly instead of touching deleted objects."""

    def __init__(self, window: Any, on_close: Callable[[], Any]):
        from qtpy.QtCore import QEvent, QObject

        class Filter(QObject):
            def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Close and watched is window:
                    on_close()
                return False

        self.window = window
        self.filter = Filter(window)
        window.installEventFilter(self.filter)

    def remove(self) -> None:
        try:
            self.window.removeEventFilter(self.filter)
        except RuntimeError:  # the window is gone already
            pass


def tabify(qt_window: Any, first: Any, second: Any) -> bool:
    """Stack two docks as tabs; False (side by side) when Qt refuses — a floating dock, docks in
    different areas, or napari's own arrangement after the plugin's dock was added from code
    (Qt then raises ``ValueError`` on the dock it does not consider its own)."""
    try:
        if first.isFloating() or second.isFloating():
            return False
        if qt_window.dockWidgetArea(first) != qt_window.dockWidgetArea(second):
            return False
        qt_window.tabifyDockWidget(first, second)
    except (ValueError, RuntimeError, TypeError):
        return False
    return True


def quiet_menu_shortcuts(qt_window: Any, keep: set[str]) -> list[tuple[Any, Any]]:
    """Clear the menu bar's shortcuts not in ``keep`` (Qt's portable text, e.g. ``Ctrl+O``);
    returns (action, shortcut) pairs for :func:`restore_menu_shortcuts`."""
    from qtpy.QtGui import QKeySequence

    cleared: list[tuple[Any, Any]] = []

    def walk(menu: Any) -> None:
        for action in menu.actions():
            shortcut = action.shortcut()
            if not shortcut.isEmpty() and shortcut.toString() not in keep:
                cleared.append((action, shortcut))
                action.setShortcut(QKeySequence())
            if action.menu() is not None:
                walk(action.menu())

    walk(qt_window.menuBar())
    return cleared


def restore_menu_shortcuts(cleared: list[tuple[Any, Any]]) -> None:
    for action, shortcut in cleared:
        try:
            action.setShortcut(shortcut)
        except RuntimeError:  # the window is gone
            pass


class DockSizes:
    """Docks that recover after the window shrinks and grows back.

    Qt squeezes the docks when the window shrinks, but hands the room back to the canvas when it
    grows, so the findings table stays cut short. Just before the window first shrinks (the
    event filter runs before Qt lays out the new size), the visible docks' sizes are recorded;
    once the window is back to that size (a short pause after the last resize, so a drag
    is not fought), they are set again. A dock the reader resized by hand keeps the size it had
    when the window began to shrink.
    """

    def __init__(self, window: Any, docks: list[Any], settle_ms: int = 150):
        from qtpy.QtCore import QEvent, QObject, QTimer

        self.window = window
        self.docks = docks
        self.saved: tuple[Any, list[tuple[Any, int, int]]] | None = None
        self.timer = QTimer(window)
        self.timer.setSingleShot(True)
        self.timer.setInterval(settle_ms)
        self.timer.timeout.connect(self.restore)
        owner = self

        class Filter(QObject):
            def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Resize and watched is window:
                    owner._resized(event.oldSize(), event.size())
                return False

        self.filter = Filter(window)
        window.installEventFilter(self.filter)

    def _shown(self) -> list[Any]:
        return [d for d in self.docks if d.isVisible() and not d.isFloating() and d.width() > 0]

    def _resized(self, old: Any, new: Any) -> None:
        if not old.isValid() or old.width() <= 0:
            return
        if new.width() < old.width() or new.height() < old.height():
            if self.saved is None or (old.width() >= self.saved[0].width() and old.height() >= self.saved[0].height()):
                self.saved = (old, [(d, d.width(), d.height()) for d in self._shown()])
        else:
            self.timer.start()

    def restore(self) -> bool:
        """Give the docks their sizes back if the window is as large as when they were recorded."""
        from qtpy.QtCore import Qt

        if self.saved is None:
            return False
        size, sizes = self.saved
        now = self.window.size()
        if now.width() < size.width() or now.height() < size.height():
            return False
        self.saved = None
        docks = [(d, w, h) for d, w, h in sizes if d.isVisible() and not d.isFloating()]
        try:
            self.window.resizeDocks([d for d, _, _ in docks], [w for _, w, _ in docks], Qt.Orientation.Horizontal)
            self.window.resizeDocks([d for d, _, _ in docks], [h for _, _, h in docks], Qt.Orientation.Vertical)
        except (RuntimeError, ValueError):  # a dock deleted or not the window's own
            return False
        return True

    def remove(self) -> None:
        self.timer.stop()
        try:
            self.window.removeEventFilter(self.filter)
        except RuntimeError:
            pass
