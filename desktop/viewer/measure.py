"""Ruler (mm) and round ROI (mean ± SD HU, area mm²) on the CT canvas, and the crosshair click.

* Shift + left-drag draws a ruler: its length is the distance between the two points in world
  coordinates, which napari keeps in mm (the layer's ``scale`` is the voxel spacing), so it is
  right in every plane, anisotropic voxels included.
* Ctrl + left-drag draws a circle from its centre: the voxels of the slice shown whose centres
  lie inside give mean and SD in HU and the area in mm², as a PACS ROI.
* A plain click (no drag) puts the crosshair there; the linked views follow (desktop/viewer/linked.py).

The shapes live in one non-interactive napari Shapes layer that is never made active (the review
keys stay on the CT layer); their values are written on the canvas (bottom right) and in the status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

LAYER_NAME = "measurements"
COLOUR = "#4dd0e1"


@dataclass(frozen=True)
class Measurement:
    """A ruler (``length_mm``) or a ROI (``mean_hu``, ``sd_hu``, ``area_mm2``, ``voxels``)."""

    kind: str
    text: str
    length_mm: float | None = None
    mean_hu: float | None = None
    sd_hu: float | None = None
    area_mm2: float | None = None
    voxels: int = 0


def roi_stats(
    plane: np.ndarray, spacing: tuple[float, float], centre: tuple[float, float], radius_mm: float
) -> Measurement:
    """HU inside a circle on one slice: ``plane`` (rows, cols) in HU, ``spacing`` mm per row/col,
    ``centre`` in (row, col) voxel units, radius in mm."""
    rows, cols = np.ogrid[: plane.shape[0], : plane.shape[1]]
    dy = (rows - centre[0]) * spacing[0]
    dx = (cols - centre[1]) * spacing[1]
    inside = dy**2 + dx**2 <= radius_mm**2
    values = plane[inside].astype(float)
    if values.size == 0:
        return Measurement("roi", "ROI: no voxel inside", voxels=0)
    mean, sd = float(values.mean()), float(values.std())
    area = float(values.size * spacing[0] * spacing[1])
    text = f"ROI {mean:.1f} ± {sd:.1f} HU · {area:.0f} mm²"
    return Measurement("roi", text, mean_hu=mean, sd_hu=sd, area_mm2=area, voxels=int(values.size))


class MeasureTool:
    """Mouse tools on a :class:`~radcurate.desktop.viewer.canvas.VolumeView`'s canvas."""

    def __init__(self, volume_view: Any, on_crosshair: Callable[[tuple[float, ...]], Any] | None = None):
        from napari.components.overlays import TextOverlay

        self.view = volume_view
        self.viewer = volume_view.viewer
        self.on_crosshair = on_crosshair
        self.layer: Any = None
        self.results: list[Measurement] = []
        self.overlay = TextOverlay(position="bottom_right", font_size=11, color=(0.3, 0.82, 0.88, 1.0), visible=False)
        self.viewer.canvas.overlays["radcurate_measure"] = self.overlay
        self.viewer.mouse_drag_callbacks.insert(0, self._drag)

    def remove(self) -> None:
        if self._drag in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._drag)
        if "radcurate_measure" in self.viewer.canvas.overlays:
            del self.viewer.canvas.overlays["radcurate_measure"]

    # ------------------------------------------------------------------ shapes
    def _shapes(self) -> Any:
        ct = self.view.layer
        if self.layer is None or self.layer not in self.viewer.layers:
            self.layer = self.viewer.add_shapes(
                name=LAYER_NAME, scale=ct.scale, edge_color=COLOUR, face_color="transparent", edge_width=1.5,
                ndim=3,
            )  # fmt: skip
            self.viewer.layers.selection.active = ct  # the review keys stay on the CT layer
            self.layer.mouse_pan = False
        if tuple(self.layer.scale) != tuple(ct.scale):
            self.layer.scale = ct.scale
        return self.layer

    def clear(self) -> None:
        """Shift+X and every case switch: no ruler or ROI of another case stays on screen."""
        self.results.clear()
        if self.layer is not None and self.layer in self.viewer.layers and len(self.layer.data):
            self.layer.data = []
        self.overlay.visible = False

    def _say(self, result: Measurement) -> None:
        self.results.append(result)
        self.overlay.text = result.text
        self.overlay.visible = True
        self.view.message = result.text
        self.viewer.status = result.text

    # ------------------------------------------------------------------ mouse
    def _drag(self, viewer: Any, event: Any):  # a napari drag generator
        from radcurate.desktop.viewer.canvas import camera_of

        ct = self.view.layer
        if event.button != 1 or ct is None or self.view.showing is None:
            return
        mods = set(event.modifiers)
        kind = "ruler" if mods == {"Shift"} else "roi" if mods == {"Control"} else "click" if not mods else None
        if kind is None:
            return
        start_pos = np.asarray(event.pos, dtype=float)
        start = np.asarray(event.position, dtype=float)
        if kind != "click":
            event.handled = True
            camera_of(viewer).mouse_pan = False
        index: int | None = None
        end = start
        yield
        while event.type == "mouse_move":
            end = np.asarray(event.position, dtype=float)
            if kind != "click":
                index = self._draw(kind, start, end, index)
                event.handled = True
            yield
        end = np.asarray(event.position, dtype=float)
        if kind == "click":
            if np.hypot(*(np.asarray(event.pos, dtype=float) - start_pos)) < 4:  # a click, not a pan
                if self.on_crosshair is not None:
                    self.on_crosshair(tuple(float(v) for v in end))
            return
        camera_of(viewer).mouse_pan = True
        self._draw(kind, start, end, index)
        self._say(self.measure(kind, start, end))
        event.handled = True

    def _corners(self, kind: str, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        ct = self.view.layer
        a = np.asarray(ct.world_to_data(start), dtype=float)
        b = np.asarray(ct.world_to_data(end), dtype=float)
        if kind == "ruler":
            return np.stack([a, b])
        shown = list(self.viewer.dims.displayed)
        scale = np.asarray(ct.scale, dtype=float)
        radius = float(np.linalg.norm((end - start)[shown]))
        r = radius / scale[shown]
        corners = []
        for s0, s1 in ((-1, -1), (-1, 1), (1, 1), (1, -1)):
            p = a.copy()
            p[shown[0]] += s0 * r[0]
            p[shown[1]] += s1 * r[1]
            corners.append(p)
        return np.stack(corners)

    def _draw(self, kind: str, start: np.ndarray, end: np.ndarray, index: int | None) -> int:
        layer = self._shapes()
        data = self._corners(kind, start, end)
        shape_type = "line" if kind == "ruler" else "ellipse"
        if index is not None and index < len(layer.data):
            shapes = list(layer.data)
            types = list(layer.shape_type)
            shapes[index], types[index] = data, shape_type
            layer.data = shapes
            layer.shape_type = types
            return index
        layer.add(data, shape_type=shape_type)
        return len(layer.data) - 1

    def measure(self, kind: str, start: np.ndarray, end: np.ndarray) -> Measurement:
        """The ruler's length (mm) or the ROI's HU statistics, from two world positions (mm)."""
        shown = list(self.viewer.dims.displayed)
        if kind == "ruler":
            length = float(np.linalg.norm((end - start)[shown]))
            return Measurement("ruler", f"ruler {length:.1f} mm", length_mm=length)
        ct = self.view.layer
        centre = np.asarray(ct.world_to_data(start), dtype=float)
        radius = float(np.linalg.norm((end - start)[shown]))
        not_shown = self.viewer.dims.not_displayed[0]
        k = int(np.clip(round(centre[not_shown]), 0, ct.data.shape[not_shown] - 1))
        plane = np.take(np.asarray(ct.data), k, axis=not_shown)  # axes stay in order: shown[0], shown[1]
        rows_axis, cols_axis = sorted(shown)
        scale = np.asarray(ct.scale, dtype=float)
        return roi_stats(
            plane, (float(scale[rows_axis]), float(scale[cols_axis])), (centre[rows_axis], centre[cols_axis]), radius
        )
