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
    grows, so the findings table stays cut short. The visible docks' sizes are recorded while the
    window keeps its size (at the start, and again whenever the reader drags a dock's edge); once
    the window is back to at least that size (a short pause after the last resize, so a drag is
    not fought), they are set again, one dock area at a time.
    """

    def __init__(self, window: Any, docks: list[Any], settle_ms: int = 150):
        from qtpy.QtCore import QEvent, QObject, QTimer

        self.window = window
        self.docks = docks
        self.saved: tuple[Any, list[tuple[Any, int, int]]] | None = None
        self.squeezed = False  # the window was smaller than when the sizes were recorded
        self.timer = QTimer(window)
        self.timer.setSingleShot(True)
        self.timer.setInterval(settle_ms)
        self.timer.timeout.connect(self._settled)
        owner = self

        class Filter(QObject):
            def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Resize:
                    if watched is window:
                        owner._window_resized(event.size())
                    owner.timer.start()  # the window or a dock changed size: look again once it settles
                return False

        self.filter = Filter(window)
        for widget in (window, *docks):
            widget.installEventFilter(self.filter)
        # after the app's first layout; a timer the window owns dies with it (a bare singleShot
        # would fire into a deleted window when a test or the reader closes it at once)
        self.first = QTimer(window)
        self.first.setSingleShot(True)
        self.first.timeout.connect(self.record)
        self.first.start(4 * settle_ms)

    def _shown(self) -> list[Any]:
        """Docks on screen now: not floating, and not a tab behind another (Qt sizes a tab stack as one)."""
        return [d for d in self.docks if _on_screen(d)]

    def record(self) -> None:
        """Remember the window's size and its docks' sizes as the layout to come back to."""
        try:
            self.saved = (self.window.size(), [(d, d.width(), d.height()) for d in self._shown()])
        except RuntimeError:  # the window (or a dock) was closed and deleted meanwhile: nothing to keep
            return
        self.squeezed = False

    def _window_resized(self, new: Any) -> None:
        if self.saved is not None and (new.width() < self.saved[0].width() or new.height() < self.saved[0].height()):
            self.squeezed = True  # Qt squeezes the docks at once, however short the shrink

    def _settled(self) -> None:
        if self.saved is None:
            self.record()
            return
        size, now = self.saved[0], self.window.size()
        if now.width() < size.width() or now.height() < size.height():
            return  # squeezed: the recorded sizes wait for the window to grow back
        if self.squeezed:
            self.restore()
        self.record()  # at this size, or the reader dragged a dock's edge: theirs is the layout to keep

    def restore(self) -> bool:
        """Give the docks their recorded sizes if the window is at least as large as then."""
        from qtpy.QtCore import Qt

        if self.saved is None:
            return False
        size, sizes = self.saved
        now = self.window.size()
        if now.width() < size.width() or now.height() < size.height():
            return False
        areas: dict[Any, list[tuple[Any, int, int]]] = {}
        for dock, w, h in sizes:
            if _on_screen(dock):
                areas.setdefault(self.window.dockWidgetArea(dock), []).append((dock, w, h))
        try:  # one area at a time: Qt ignores heights asked of docks of different areas in one call
            for group in areas.values():
                docks = [d for d, _, _ in group]
                self.window.resizeDocks(docks, [w for _, w, _ in group], Qt.Orientation.Horizontal)
                self.window.resizeDocks(docks, [h for _, _, h in group], Qt.Orientation.Vertical)
        except (RuntimeError, ValueError):  # a dock deleted or not the window's own
            return False
        return True

    def remove(self) -> None:
        self.timer.stop()
        for widget in (self.window, *self.docks):
            try:
                widget.removeEventFilter(self.filter)
            except RuntimeError:
                pass


def _on_screen(dock: Any) -> bool:
    try:
        return bool(dock.isVisible() and not dock.isFloating() and not dock.visibleRegion().isEmpty())
    except RuntimeError:  # deleted with the window
        return False
