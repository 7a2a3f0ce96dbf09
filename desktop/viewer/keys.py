"""The review key map: one table that binds the keys, drives the help overlay and the docs.

Everything is keyboard first: an all-correct case costs one key (Enter), a case with one wrong
label three (its finding's letter, its state, Enter). Keys are bound with napari's
``bind_key(..., overwrite=True)`` on the viewer *and* on the CT layer (napari asks the active
layer's keymap first, and the Image layer owns ``1``, ``2``, ``C``, ``X``…), and unbound on close.

Only these keys are live: a catch-all (napari's ``...`` binding) sits in front of napari's own
keymaps, which would otherwise hide the CT (V), transpose or roll the axes (Ctrl+T, Ctrl+E),
switch to 3D (Ctrl+Y), grid the canvas (Ctrl+G) or delete the layer (Ctrl+Backspace) without the
canvas saying so. The help therefore lists every key that does anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    KeyAction(
        "not_mentioned_rest",
        ("Shift-N",),
        "every undecided finding without a silver label is not mentioned (report-less studies)",
        "Decide",
    ),
    KeyAction("note", ("Shift-M",), "memo: a note on the selected finding's decision (Enter saves)", "Decide"),
    KeyAction("next_finding", ("Down",), "next finding", "Move"),
    KeyAction("previous_finding", ("Up",), "previous finding", "Move"),
    KeyAction("first_finding", ("Home",), "first finding", "Move"),
    KeyAction("last_finding", ("End",), "last finding", "Move"),
    KeyAction("next_case", ("PageDown",), "next case", "Move"),
    KeyAction("previous_case", ("PageUp",), "previous case", "Move"),
    KeyAction("skip_case", ("Shift-PageDown",), "skip the case (recorded): the next unfinished one", "Move"),
    KeyAction("flag_case", ("Shift-F",), "flag the case for another look (again: clear the flag)", "Move"),
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
    KeyAction("reset_view", ("Shift-R",), "middle slice, fit to window", "Image"),
    KeyAction("clear_measurements", ("Shift-X",), "remove the rulers and ROIs", "Image"),
    KeyAction("help", ("H", "F1"), "show / hide this help", "Help"),
    KeyAction("focus_canvas", ("Escape",), "back to the image from any dock or field; closes help and note", "Help"),
)

# One letter per finding selects it (and shows it in its window): move + state + Enter = 3 keys
# for a case with one wrong label. Hand-picked for CT-RATE's default vocabulary; any other
# vocabulary gets letters from its names (see finding_keys). The findings table shows them.
CT_RATE_KEYS: dict[str, str] = {
    "Medical material": "M",
    "Arterial wall calcification": "W",
    "Cardiomegaly": "C",
    "Pericardial effusion": "R",
    "Coronary artery wall calcification": "O",
    "Hiatal hernia": "I",
    "Lymphadenopathy": "L",
    "Emphysema": "E",
    "Atelectasis": "T",
    "Lung nodule": "D",
    "Lung opacity": "Y",
    "Pulmonary fibrotic sequela": "Q",
    "Pleural effusion": "F",
    "Mosaic attenuation pattern": "Z",
    "Peribronchial thickening": "K",
    "Consolidation": "S",
    "Bronchiectasis": "B",
    "Interlobular septal thickening": "G",
}
RESERVED_LETTERS = frozenset(k for entry in KEYMAP for k in entry.keys if len(k) == 1 and k.isalpha())
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def finding_keys(findings: Sequence[str]) -> dict[str, str]:
    """A letter per finding (as many as there are free letters): CT-RATE's table, else from the names.

    Each finding takes the first free letter among its words' initials, then the other letters of
    its name, then any free letter; findings beyond the free letters get none (arrow keys reach them).
    """
    if set(findings) <= set(CT_RATE_KEYS):
        return {f: CT_RATE_KEYS[f] for f in findings}
    taken = set(RESERVED_LETTERS)
    out: dict[str, str] = {}
    for finding in findings:
        words = finding.upper().split()
        candidates = [w[0] for w in words if w] + [c for c in finding.upper() if c.isalpha()] + list(LETTERS)
        letter = next((c for c in candidates if c in LETTERS and c not in taken), None)
        if letter is not None:
            taken.add(letter)
            out[finding] = letter
    return out


def review_keymap(findings: Sequence[str] = ()) -> tuple[KeyAction, ...]:
    """The fixed keys plus one ``select:<finding>`` action per finding letter."""
    letters = finding_keys(findings)
    selects = tuple(KeyAction(f"select:{f}", (k,), f"select {f}", "Findings") for f, k in letters.items())
    return KEYMAP + selects


# napari's menu shortcuts left live while reviewing (desktop/window.py clears every other one)
WINDOW_KEYS: tuple[tuple[str, str], ...] = (
    ("Ctrl+O", "open a file (napari; radcurate reads NIfTI and DICOM)"),
    ("Ctrl+Shift+O", "open a folder (a DICOM series)"),
    ("Alt+S", "save a screenshot of the canvas"),
    ("Ctrl+=", "zoom in"),
    ("Ctrl+-", "zoom out"),
    ("Ctrl+0", "fit to the window"),
    ("Ctrl+F11", "full screen"),
    ("Ctrl+W", "close the window (every decision is saved already)"),
    ("Ctrl+Q", "quit"),
)

MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("wheel", "page through slices"),
    ("Ctrl+wheel", "zoom"),
    ("left-drag", "pan"),
    ("right-drag", "window (left/right) and level (up/down)"),
    ("Shift+drag", "ruler (mm)"),
    ("Ctrl+drag", "round ROI: mean ± SD HU, area mm²"),
    ("click", "crosshair on the image; the linked views follow"),
    ("click a row", "select a finding or a case"),
)


def _pretty(key: str) -> str:
    return key.replace("Control-", "Ctrl+").replace("Shift-", "Shift+")


def help_text(findings: Sequence[str] = ()) -> str:
    """Plain-text key list (what the overlay shows; also printed by ``radcurate review DIR --keys``)."""
    lines: list[str] = []
    group = None
    for entry in review_keymap(findings):
        if entry.group != group:
            group = entry.group
            lines.append(f"\n{group}")
        lines.append(f"  {' / '.join(_pretty(k) for k in entry.keys):<18} {entry.help}")
    lines.append("\nWindow")
    lines += [f"  {name:<18} {what}" for name, what in WINDOW_KEYS]
    lines.append("\nMouse")
    lines += [f"  {name:<18} {what}" for name, what in MOUSE_HELP]
    return "\n".join(lines).strip() + "\n"


class KeyBinder:
    """Binds every :data:`KEYMAP` key on napari keymap providers; :meth:`unbind` takes them back.

    ``handlers`` maps an action name to a no-argument callable. The bound functions are kept in
    :attr:`bound` (key → function) so tests and the scripted driver can call exactly what a key
    press calls.
    """

    def __init__(self, handlers: Mapping[str, Callable[[], Any]], keymap: Sequence[KeyAction] = KEYMAP):
        missing = [k.action for k in keymap if k.action not in handlers]
        if missing:
            raise ValueError(f"no handler for key action(s): {', '.join(missing)}")
        self.handlers = dict(handlers)
        self.keymap = tuple(keymap)
        self.bound: dict[str, Callable[[Any], Any]] = {}
        self._providers: list[Any] = []
        for entry in self.keymap:
            for key in entry.keys:
                self.bound[key] = _make_callback(self.handlers[entry.action], entry.action)

    def bind(self, provider: Any) -> None:
        """Bind on a napari keymap provider (the viewer, a layer), with the catch-all; idempotent."""
        if any(p is provider for p in self._providers):
            return
        for key, callback in self.bound.items():
            provider.bind_key(key, callback, overwrite=True)
        provider.bind_key(..., _not_a_review_key, overwrite=True)
        self._providers.append(provider)

    def unbind(self) -> None:
        for provider in self._providers:
            for key, callback in self.bound.items():
                if provider.keymap.get(_coerce(key)) is callback:
                    provider.bind_key(key, None)
            if provider.keymap.get(...) is _not_a_review_key:
                provider.bind_key(..., None)
        self._providers.clear()

    def press(self, key: str) -> Any:
        """Run what ``key`` runs (for code paths that have no canvas)."""
        return self.bound[key](None)


def _coerce(key: str) -> Any:
    from napari.utils.key_bindings import coerce_keybinding

    return coerce_keybinding(key)


def _not_a_review_key(_provider: Any) -> None:
    """Every key not in the review key map does nothing (napari's own would change the image silently)."""
    return None


def _make_callback(handler: Callable[[], Any], action: str) -> Callable[[Any], Any]:
    def callback(_provider: Any) -> Any:
        return handler()

    callback.__name__ = "radcurate_" + "".join(c if c.isalnum() else "_" for c in action)
    callback.__doc__ = action.replace("_", " ")
    return callback


def make_help_overlay(parent: Any, findings: Sequence[str] = ()) -> Any:
    """A translucent panel over ``parent`` listing every key (two columns); hidden until toggled."""
    import html

    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QLabel

    text = help_text(findings)
    general, _, letters = text.partition("Findings\n")
    letters, _, mouse = letters.partition("\nMouse\n")
    left = general.rstrip() + ("\n\nMouse\n" + mouse if mouse else "")
    right = ("Findings (select; its window)\n" + letters) if letters else ""
    cell = '<td style="vertical-align:top; padding-right:28px"><pre>{}</pre></td>'
    label = QLabel(parent)
    label.setObjectName("radcurateKeyHelp")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setText(
        "<b>radcurate review — keys</b> (H or F1 closes)<table><tr>"
        + cell.format(html.escape(left))
        + cell.format(html.escape(right))
        + "</tr></table>"
    )
    label.setStyleSheet(
        "QLabel#radcurateKeyHelp { background: rgba(20, 20, 28, 235); color: #f0f0f0;"
        " font-family: monospace; font-size: 13px; padding: 16px; border: 1px solid #888;"
        " border-radius: 6px; }"
    )
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    label.adjustSize()
    label.hide()
    return label
