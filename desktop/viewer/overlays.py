"""What is written on the CT canvas, as on a PACS: the study, the plane, the letters, "loading".

napari draws :class:`~napari.components.overlays.TextOverlay` objects in the canvas itself (they
are in every screenshot, unlike a Qt label over the canvas), so everything the reader must never
misread is one: the study id and series (top left, always), the plane, the PACS slice number
and the window (under it), the orientation letters on the four edges (R/L, A/P, S/I for the
plane shown), and a large "loading <study>" in the middle while the image of the case shown in
the docks is not on screen yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# plane → letters at (top, bottom, left, right) of the screen. The volume is LPS: x grows to the
# patient's left, y to posterior, z to superior (see desktop/viewer/canvas.py for the layout).
ORIENTATION_LETTERS: dict[str, tuple[str, str, str, str]] = {
    "axial": ("A", "P", "R", "L"),
    "coronal": ("S", "I", "R", "L"),
    "sagittal": ("S", "I", "A", "P"),
}
_EDGES = (("top", "top_center"), ("bottom", "bottom_center"), ("left", "middle_left"), ("right", "middle_right"))
TEXT_COLOUR = (1.0, 0.85, 0.3, 1.0)
LETTER_COLOUR = (0.55, 0.85, 1.0, 1.0)
LOADING_COLOUR = (1.0, 0.45, 0.35, 1.0)
# A header line longer than this could reach the top letter at the canvas's top centre (font 11 is
# ~8 px a character; a canvas at 1600×1000 beside the docks is ~900 px wide): the letter then moves
# down below the header's lines instead of being drawn over a long study id or series name.
HEADER_CLEAR_CHARS = 40


def _set(overlay: Any, **values: Any) -> None:
    for name, value in values.items():
        if getattr(overlay, name) != value:
            setattr(overlay, name, value)


@dataclass(frozen=True)
class CanvasText:
    """What the canvas says now (tests read it; the overlays draw it)."""

    header: str
    loading: str
    letters: tuple[str, str, str, str]


class CanvasAnnotations:
    """Owns radcurate's text overlays on a napari canvas."""

    def __init__(self, viewer: Any):
        from napari.components.overlays import TextOverlay

        self.viewer = viewer
        overlays = viewer.canvas.overlays
        self.header = overlays.text  # napari's own text overlay: the study line, top left
        self.header.position = "top_left"
        self.header.font_size = 11
        self.header.color = TEXT_COLOUR
        self.letters: dict[str, Any] = {}
        for edge, position in _EDGES:
            overlay = TextOverlay(position=position, font_size=14, color=LETTER_COLOUR, visible=False)
            overlays[f"radcurate_{edge}"] = overlay
            self.letters[edge] = overlay
        self.loading_overlay = TextOverlay(position="middle_center", font_size=15, color=LOADING_COLOUR, visible=False)
        overlays["radcurate_loading"] = self.loading_overlay
        slice_overlay = getattr(overlays, "current_slice", None)
        if slice_overlay is not None:  # napari's own slice counter counts feet to head: ours replaces it
            slice_overlay.visible = False

    def show(self, header: str, *, plane: str | None, loading: str = "") -> None:
        """Write ``header`` top left; the plane's letters (None: no image, no letters); ``loading``.

        Only what changed is set: each overlay change re-lays out every overlay of the canvas.
        """
        _set(self.header, text=header, visible=True)
        codes = ORIENTATION_LETTERS.get(plane or "", ("", "", "", ""))
        lines = header.split("\n")
        below_header = "\n" * len(lines) if max(map(len, lines)) > HEADER_CLEAR_CHARS else ""
        for (edge, _), code in zip(_EDGES, codes, strict=True):
            text = below_header + code if edge == "top" and code else code
            _set(self.letters[edge], text=text, visible=bool(code) and not loading)
        _set(self.loading_overlay, text=loading, visible=bool(loading))

    def current(self) -> CanvasText:
        letters = tuple(o.text.strip() if o.visible else "" for o in self.letters.values())
        loading = self.loading_overlay.text.replace("\n", " ") if self.loading_overlay.visible else ""
        return CanvasText(self.header.text, loading, letters)  # type: ignore[arg-type]

    def remove(self) -> None:
        overlays = self.viewer.canvas.overlays
        for name in [*(f"radcurate_{edge}" for edge, _ in _EDGES), "radcurate_loading"]:
            if name in overlays:
                del overlays[name]
        self.header.text = ""
