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
