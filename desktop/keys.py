"""The review key map: one table that binds the keys, drives the help overlay and the docs.

Everything is keyboard first: an all-correct case costs one key (Enter), a case with one wrong
label about three (move to it, set its state, Enter). Keys are bound with napari's
``bind_key(..., overwrite=True)`` on the viewer *and* on the CT layer (napari asks the active
layer's keymap first, and the Image layer owns ``1``, ``2``, ``C``, ``X``…), and unbound on close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KeyAction:
    """One action: the napari key names that trigger it, what it does, and its help group."""

    action: str
    keys: tuple[str, ...]
    help: str
    group: str


KEYMAP: tuple[KeyAction, ...] = (
    KeyAction(
        "confirm_case", ("Enter",), "confirm case: save the shown label of every undecided finding, next case", "Decide"
    ),
    KeyAction("present", ("P",), "selected finding is present", "Decide"),
    KeyAction("absent", ("A",), "selected finding is absent", "Decide"),
    KeyAction("uncertain", ("U",), "selected finding is uncertain", "Decide"),
    KeyAction("not_mentioned", ("N",), "selected finding is not mentioned", "Decide"),
    KeyAction("undo", ("Control-Z", "Backspace"), "undo your last action (recorded as a new decision)", "Decide"),
    KeyAction("next_finding", ("Down",), "next finding", "Move"),
    KeyAction("previous_finding", ("Up",), "previous finding", "Move"),
    KeyAction("next_mentioned", ("J",), "next finding mentioned in the report", "Move"),
    KeyAction("previous_mentioned", ("K",), "previous finding mentioned in the report", "Move"),
    KeyAction("next_case", ("PageDown",), "next case", "Move"),
    KeyAction("previous_case", ("PageUp",), "previous case", "Move"),
    KeyAction("lung_window", ("1",), "lung window (W 1500, L -600)", "Image"),
    KeyAction("mediastinum_window", ("2",), "mediastinal window (W 400, L 40)", "Image"),
    KeyAction("bone_window", ("3",), "bone window (W 2500, L 480)", "Image"),
    KeyAction("finding_window", ("0",), "the selected finding's window (also applied when you move to it)", "Image"),
    KeyAction("narrower_window", ("[",), "narrower window", "Image"),
    KeyAction("wider_window", ("]",), "wider window", "Image"),
    KeyAction("lower_level", ("-",), "lower level", "Image"),
    KeyAction("higher_level", ("=",), "higher level", "Image"),
    KeyAction("axial", ("Shift-A",), "axial view", "Image"),
    KeyAction("coronal", ("Shift-C",), "coronal view", "Image"),
    KeyAction("sagittal", ("Shift-S",), "sagittal view", "Image"),
    KeyAction("next_slice", ("Right",), "next slice (or the mouse wheel)", "Image"),
    KeyAction("previous_slice", ("Left",), "previous slice (or the mouse wheel)", "Image"),
    KeyAction("reset_view", ("R",), "middle slice, fit to window", "Image"),
    KeyAction("help", ("H", "F1"), "show / hide this help", "Help"),
)

MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("wheel", "page through slices"),
    ("Ctrl+wheel", "zoom"),
    ("left-drag", "pan"),
    ("right-drag", "window (left/right) and level (up/down)"),
    ("click a row", "select a finding or a case"),
)


def keys_for(action: str) -> tuple[str, ...]:
    for entry in KEYMAP:
        if entry.action == action:
            return entry.keys
    raise KeyError(action)


def _pretty(key: str) -> str:
    return key.replace("Control-", "Ctrl+").replace("Shift-", "Shift+")


def help_text() -> str:
    """Plain-text key list (what the overlay shows; also printed by ``radcurate review --keys``)."""
    lines: list[str] = []
    group = None
    for entry in KEYMAP:
        if entry.group != group:
            group = entry.group
            lines.append(f"\n{group}")
        lines.append(f"  {' / '.join(_pretty(k) for k in entry.keys):<18} {entry.help}")
    lines.append("\nMouse")
    lines += [f"  {name:<18} {what}" for name, what in MOUSE_HELP]
    return "\n".join(lines).strip() + "\n"


class KeyBinder:
    """Binds every :data:`KEYMAP` key on napari keymap providers; :meth:`unbind` takes them back.

    ``handlers`` maps an action name to a no-argument callable. The bound functions are kept in
    :attr:`bound` (key → function) so tests and the scripted driver can call exactly what a key
    press calls.
    """

    def __init__(self, handlers: Mapping[str, Callable[[], Any]]):
        missing = [k.action for k in KEYMAP if k.action not in handlers]
        if missing:
            raise ValueError(f"no handler for key action(s): {', '.join(missing)}")
        self.handlers = dict(handlers)
        self.bound: dict[str, Callable[[Any], Any]] = {}
        self._providers: list[Any] = []
        for entry in KEYMAP:
            for key in entry.keys:
                self.bound[key] = _make_callback(self.handlers[entry.action], entry.action)

    def bind(self, provider: Any) -> None:
        """Bind on a napari keymap provider (the viewer, a layer); idempotent."""
        if any(p is provider for p in self._providers):
            return
        for key, callback in self.bound.items():
            provider.bind_key(key, callback, overwrite=True)
        self._providers.append(provider)

    def unbind(self) -> None:
        for provider in self._providers:
            for key, callback in self.bound.items():
                if provider.keymap.get(_coerce(key)) is callback:
                    provider.bind_key(key, None)
        self._providers.clear()

    def press(self, key: str) -> Any:
        """Run what ``key`` runs (for code paths that have no canvas)."""
        return self.bound[key](None)


def _coerce(key: str) -> Any:
    from napari.utils.key_bindings import coerce_keybinding

    return coerce_keybinding(key)


def _make_callback(handler: Callable[[], Any], action: str) -> Callable[[Any], Any]:
    def callback(_provider: Any) -> Any:
        return handler()

    callback.__name__ = f"radcurate_{action}"
    callback.__doc__ = action.replace("_", " ")
    return callback


def make_help_overlay(parent: Any) -> Any:
    """A translucent panel over ``parent`` listing every key; hidden until toggled."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QLabel

    label = QLabel(parent)
    label.setObjectName("radcurateKeyHelp")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText("radcurate review — keys\n\n" + help_text())
    label.setStyleSheet(
        "QLabel#radcurateKeyHelp { background: rgba(20, 20, 28, 230); color: #f0f0f0;"
        " font-family: monospace; font-size: 13px; padding: 18px; border: 1px solid #888;"
        " border-radius: 6px; }"
    )
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    label.adjustSize()
    label.hide()
    return label
