"""The CT image in napari, the way a radiologist expects it from PACS.

* Layout: a :class:`~radcurate.engine.volumes.volume.Volume` is ``(X, Y, Z)`` in LPS; napari gets
  ``(Z, Y, X)`` with ``scale`` = (z, y, x) spacing in mm, so coronal and sagittal are not
  squashed. Axial shows rows = posterior downwards (anterior at the top) and columns = patient's
  left to the screen's right (radiological convention) with no flip at all; coronal and sagittal
  flip the vertical screen axis (``camera.orientation2d``) so the head is at the top.
* Mouse: the wheel pages through slices (napari's default zooms), Ctrl+wheel zooms, a
  right-drag changes window (horizontal) and level (vertical).
* Status: the status bar shows the HU under the cursor and the slice number; a corner overlay
  shows view, slice and window like a PACS annotation.
* A case switch reuses the one image layer (``layer.data = ...``) instead of recreating it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from radcurate.desktop.viewer.presets import LUNG, PRESETS, WindowPreset, adjusted

# view → (napari dims.order, camera.orientation2d (vertical, horizontal))
VIEWS: dict[str, tuple[tuple[int, int, int], tuple[str, str]]] = {
    "axial": ((0, 1, 2), ("down", "right")),
    "coronal": ((1, 0, 2), ("up", "right")),
    "sagittal": ((2, 0, 1), ("up", "right")),
}
CONTRAST_RANGE = (-2048.0, 4096.0)  # wide enough for every preset and any CT's HU
LAYER_NAME = "CT"


@dataclass(frozen=True)
class DisplayVolume:
    """A volume ready for napari: ``data`` is C-contiguous ``(Z, Y, X)`` in HU, ``scale`` in mm."""

    study_id: str
    series_id: str
    data: np.ndarray
    scale: tuple[float, float, float]
    source: str = ""


def to_display(volume: Any, study_id: str = "", series_id: str = "") -> DisplayVolume:
    """Transpose an LPS ``(X, Y, Z)`` volume to napari's ``(Z, Y, X)`` (a copy, made off the UI thread)."""
    data = np.ascontiguousarray(np.asarray(volume.array).transpose(2, 1, 0))
    sx, sy, sz = (float(s) for s in volume.spacing)
    return DisplayVolume(study_id, series_id, data, (sz, sy, sx), str(getattr(volume, "source", "")))


class VolumeView:
    """Owns the CT image layer of a napari viewer and the PACS-style mouse and status behaviour."""

    def __init__(self, viewer: Any):
        self.viewer = viewer
        self.layer: Any = None
        self.view = "axial"
        self.window: WindowPreset = LUNG
        self._installed = False

    # ------------------------------------------------------------------ showing a volume
    def show(self, volume: DisplayVolume, *, window: WindowPreset = LUNG) -> None:
        """Show a case's volume at the middle axial slice, in ``window``; reuses the layer."""
        limits = window.contrast_limits
        if self.layer is None or self.layer not in self.viewer.layers:
            self.layer = self.viewer.add_image(
                volume.data,
                name=LAYER_NAME,
                scale=volume.scale,
                colormap="gray",
                contrast_limits=limits,
                interpolation2d="linear",
            )
            self.layer.contrast_limits_range = CONTRAST_RANGE
            self.install()
        else:  # each napari setter re-slices; skip the ones that change nothing
            if tuple(self.layer.scale) != tuple(volume.scale):
                self.layer.scale = volume.scale
            self.layer.data = volume.data
        self.layer.metadata["study_id"] = volume.study_id
        self.layer.metadata["series_id"] = volume.series_id
        self.set_window(window)
        self.set_view("axial")

    def clear(self) -> None:
        """No volume for this case: hide the layer (kept for reuse)."""
        if self.layer is not None:
            self.layer.visible = False
        self._annotate("no volume for this case")

    # ------------------------------------------------------------------ views and windows
    def set_view(self, name: str) -> None:
        """Axial, coronal or sagittal, at the middle slice, fitted to the canvas."""
        order, orientation = VIEWS[name]
        self.view = name
        if self.layer is None:
            return
        self.layer.visible = True
        if tuple(self.viewer.dims.order) != order:
            self.viewer.dims.order = order
        if tuple(self.viewer.camera.orientation2d) != orientation:
            self.viewer.camera.orientation2d = orientation
        axis = order[0]
        n = self.layer.data.shape[axis]
        self.viewer.dims.set_point(axis, (n - 1) / 2 * self.layer.scale[axis])
        self.viewer.reset_view()
        self._annotate()

    def set_window(self, window: WindowPreset) -> None:
        self.window = window
        if self.layer is not None and tuple(self.layer.contrast_limits) != window.contrast_limits:
            self.layer.contrast_limits = window.contrast_limits
        self._annotate()

    def nudge_window(self, *, width_factor: float = 1.0, level_shift: float = 0.0) -> None:
        """The key pair / right-drag: widen or narrow the window, move the level (HU)."""
        low, high = adjusted(self.window.contrast_limits, width_factor=width_factor, level_shift=level_shift)
        self.set_window(WindowPreset.from_limits(low, high))

    def step_slice(self, step: int) -> None:
        """Page ``step`` slices through the current view."""
        if self.layer is None:
            return
        axis = self.viewer.dims.not_displayed[0]
        current = self.viewer.dims.current_step[axis]
        top = self.viewer.dims.nsteps[axis] - 1
        self.viewer.dims.set_current_step(axis, int(max(0, min(top, current + step))))
        self._annotate()

    def slice_position(self) -> tuple[int, int]:
        """(1-based slice number, slice count) in the current view."""
        if self.layer is None:
            return (0, 0)
        axis = self.viewer.dims.not_displayed[0]
        index = int(round(self.viewer.dims.point[axis] / self.layer.scale[axis]))
        return index + 1, int(self.layer.data.shape[axis])

    def hu_at(self, world_position: Any) -> float | None:
        """HU of the voxel under a world-coordinate position, or None outside the volume."""
        if self.layer is None or not self.layer.visible:
            return None
        index = np.round(np.asarray(self.layer.world_to_data(world_position), dtype=float)).astype(int)
        shape = self.layer.data.shape
        if index.shape[0] != len(shape) or np.any(index < 0) or np.any(index >= shape):
            return None
        return float(self.layer.data[tuple(index)])

    # ------------------------------------------------------------------ mouse and status
    def install(self) -> None:
        """PACS mouse habits and the HU status; once per viewer."""
        if self._installed:
            return
        self._installed = True
        viewer = self.viewer
        viewer.mouse_wheel_callbacks[:] = [
            cb for cb in viewer.mouse_wheel_callbacks if getattr(cb, "__name__", "") != "dims_scroll"
        ]
        viewer.mouse_wheel_callbacks.insert(0, self._wheel)
        viewer.mouse_drag_callbacks.insert(0, self._right_drag)
        viewer.cursor.events.position.connect(self._update_status)
        viewer.events.status.connect(self._own_status)
        viewer.dims.events.current_step.connect(self._annotate_event)

    def uninstall(self) -> None:
        if not self._installed:
            return
        self._installed = False
        for callbacks, fn in (
            (self.viewer.mouse_wheel_callbacks, self._wheel),
            (self.viewer.mouse_drag_callbacks, self._right_drag),
        ):
            if fn in callbacks:
                callbacks.remove(fn)
        self.viewer.cursor.events.position.disconnect(self._update_status)
        self.viewer.events.status.disconnect(self._own_status)
        self.viewer.dims.events.current_step.disconnect(self._annotate_event)

    def _wheel(self, viewer: Any, event: Any) -> None:
        """Wheel pages slices; Ctrl+wheel zooms about the canvas centre."""
        delta = float(event.delta[1]) if len(event.delta) > 1 else 0.0
        if delta == 0:
            return
        if "Control" in event.modifiers:
            viewer.camera.zoom = viewer.camera.zoom * (1.15 if delta > 0 else 1 / 1.15)
        elif not event.modifiers:
            self.step_slice(-1 if delta > 0 else 1)
        else:
            return
        event.handled = True

    def _right_drag(self, viewer: Any, event: Any):  # a napari drag generator
        """Right-drag: horizontal changes the window width, vertical the level (as on PACS)."""
        if event.button != 2 or self.layer is None:
            return
        event.handled = True
        start = np.asarray(event.pos, dtype=float)
        base = self.window
        yield
        while event.type == "mouse_move":
            dx, dy = np.asarray(event.pos, dtype=float) - start
            width = max(1.0, base.width * float(np.exp(dx / 200.0)))
            self.set_window(WindowPreset("custom", width, base.level + dy * base.width / 400.0))
            event.handled = True
            yield
        event.handled = True

    def _update_status(self, _event: Any = None) -> None:
        if self.layer is None:
            return
        hu = self.hu_at(self.viewer.cursor.position)
        number, total = self.slice_position()
        where = f"{self.view} slice {number}/{total}"
        self.viewer.status = f"HU {hu:.0f} · {where}" if hu is not None else where

    def _own_status(self, _event: Any = None) -> None:
        """napari's status thread posts its own layer status (a dict); show ours (HU, slice) instead."""
        if not isinstance(self.viewer.status, str) and self.layer is not None:
            self._update_status()

    def _annotate_event(self, _event: Any = None) -> None:
        self._annotate()

    def _annotate(self, note: str | None = None) -> None:
        overlay = self.viewer.canvas.overlays.text
        if note is not None:
            overlay.text = note
        elif self.layer is not None:
            number, total = self.slice_position()
            window = self.window
            name = window.name if window.name in PRESETS else "custom"
            overlay.text = f"{self.view} {number}/{total}   W {window.width:.0f} L {window.level:.0f} ({name})"
        overlay.visible = True
        overlay.position = "top_left"
        overlay.font_size = 11
        overlay.color = (1.0, 0.85, 0.3, 1.0)
