"""The CT image in napari, the way a radiologist expects it from PACS.

* Layout: a :class:`~radcurate.engine.volumes.volume.Volume` is ``(X, Y, Z)`` in LPS; napari gets
  ``(Z, Y, X)`` with ``scale`` = (z, y, x) spacing in mm, so coronal and sagittal are not
  squashed. Axial shows rows = posterior downwards (anterior at the top) and columns = patient's
  left to the screen's right (radiological convention) with no flip at all; coronal and sagittal
  flip the vertical screen axis (``camera.orientation2d``) so the head is at the top.
* Mouse: the wheel pages through slices (napari's default zooms), Ctrl+wheel zooms, a
  right-drag changes window (horizontal) and level (vertical).
* Status: the status bar shows the HU under the cursor and the slice number; the canvas shows
  the study and series, the plane, the slice numbered head to feet as on PACS (napari's own
  index runs feet to head: its slider is hidden), the window and the orientation letters
  (desktop/viewer/overlays.py). While a case loads the old image is hidden, never shown
  beside the new report.
* A case switch reuses the one image layer (``layer.data = ...``) and keeps the reader's plane,
  zoom and a hand-set window; only a window the reader did not set follows the findings.
* A high-resolution wheel or trackpad sends fractions of a notch: they add up to one slice per
  120 eighths of a degree, as a mouse wheel's notch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from radcurate.desktop.viewer.overlays import CanvasAnnotations
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
    description: str = ""  # the series as the canvas names it (description, thickness)
    slice_numbers: tuple[int, ...] = ()  # DICOM InstanceNumber per index along ``slice_axis``, if known
    slice_axis: int = 0  # the napari axis (0: z, 1: y, 2: x) the acquired slices stack along


def to_display(volume: Any, study_id: str = "", series_id: str = "", description: str = "") -> DisplayVolume:
    """Transpose an LPS ``(X, Y, Z)`` volume to napari's ``(Z, Y, X)`` (a copy, made off the UI thread)."""
    data = np.ascontiguousarray(np.asarray(volume.array).transpose(2, 1, 0))
    sx, sy, sz = (float(s) for s in volume.spacing)
    meta = getattr(volume, "metadata", None) or {}
    numbers = tuple(int(n) for n in meta.get("instance_numbers") or ())
    lps_axis = int(meta.get("instance_axis", 2))
    if len(numbers) != data.shape[2 - lps_axis]:
        numbers = ()  # not one number per slice (resampled, or a loader that does not say)
    return DisplayVolume(
        study_id, series_id, data, (sz, sy, sx), str(getattr(volume, "source", "")), description, numbers, 2 - lps_axis
    )


def camera_of(viewer: Any) -> Any:
    """The viewer's camera: ``viewer.scene.camera`` from napari 0.9 (``viewer.camera`` warns there)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None and hasattr(scene, "camera") else viewer.camera


def _held_slicing(layer: Any) -> Any:
    """napari's own guard that holds a layer's re-slicing (several setters in a row cut one slice)."""
    import contextlib

    hold = getattr(layer, "_block_refresh", None)  # napari private API (0.5–0.9): degrade to no hold
    return hold() if callable(hold) else contextlib.nullcontext()


class VolumeView:
    """Owns the CT image layer of a napari viewer, the canvas text and the PACS mouse habits."""

    def __init__(self, viewer: Any):
        self.viewer = viewer
        self.layer: Any = None
        self.view = "axial"
        self.window: WindowPreset = LUNG
        self.hand_window: WindowPreset | None = None  # a window the reader set: kept across cases
        self.study_id: str | None = None  # whose image is on screen (None: none)
        self.description = ""
        self.slice_numbers: tuple[int, ...] = ()  # InstanceNumber per index along slice_axis (DICOM)
        self.slice_axis = 0
        self.loading_study: str | None = None
        self.annotations = CanvasAnnotations(viewer)
        self._wheel_rest = 0.0  # wheel notches not yet turned into a slice
        self._relative_zoom: float | None = None
        self._fitted_zoom: float | None = None  # the camera zoom that fits the volume (set_view)
        self._installed = False
        self.message = ""  # the app's last message ("saved #12 …"): kept in the status beside the HU
        self.measure: Any = None  # the ruler / ROI tool, made with the layer
        self.on_crosshair: Any = None  # the linked views' hook: a click's world position (mm)
        self.listeners: list[Any] = []  # called after every change of image, plane, slice or window

    # ------------------------------------------------------------------ showing a volume
    def show(self, volume: DisplayVolume, *, window: WindowPreset = LUNG) -> None:
        """Show a case's volume at the middle slice of the reader's plane, zoom and window.

        ``window`` applies only when the reader has not set one by hand (then theirs stays).
        The one image layer is reused: its data, scale, window and visibility change with napari's
        re-slicing held back, then the middle slice is cut once (each of those setters would cut
        and upload a slice of its own). When the new volume has the old one's extent the camera
        (zoom and pan) stays as the reader left it; else the volume is fitted again at their zoom.
        """
        first = self.layer is None or self.layer not in self.viewer.layers
        window = self.hand_window or window
        limits = window.contrast_limits
        same_extent = False
        if first:
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
        else:
            layer = self.layer
            same_extent = tuple(layer.data.shape) == volume.data.shape and tuple(layer.scale) == tuple(volume.scale)
            if not same_extent and self._fitted_zoom:
                self._relative_zoom = camera_of(self.viewer).zoom / self._fitted_zoom  # the reader's zoom, kept
            with _held_slicing(layer):
                if tuple(layer.scale) != tuple(volume.scale):
                    layer.scale = volume.scale
                layer.data = volume.data
                if tuple(layer.contrast_limits) != limits:
                    layer.contrast_limits = limits
        self.layer.metadata["study_id"] = volume.study_id
        self.layer.metadata["series_id"] = volume.series_id
        self.clear_measurements()
        self.study_id, self.description, self.loading_study = volume.study_id, volume.description, None
        self.slice_numbers, self.slice_axis = volume.slice_numbers, volume.slice_axis
        self.window = window
        self.set_view(self.view, keep_zoom=True, keep_camera=same_extent, reslice=not first)

    def show_loading(self, study_id: str) -> None:
        """The case's image is not here yet: hide the previous one and say so on the canvas."""
        self.loading_study = study_id
        self.study_id = None
        if self.layer is not None:
            self.layer.visible = False
        self.clear_measurements()
        self._annotate()

    def clear_measurements(self) -> None:
        if self.measure is not None:
            self.measure.clear()

    def clear(self, study_id: str | None = None, note: str = "no image for this case") -> None:
        """No volume for this case: hide the layer (kept for reuse) and name the case."""
        self.loading_study = None
        self.study_id = None
        if self.layer is not None:
            self.layer.visible = False
        self.clear_measurements()
        self.annotations.show(f"{study_id or ''} · {note}".strip(" ·"), plane=None)
        for listener in self.listeners:
            listener()

    @property
    def showing(self) -> str | None:
        """The study whose image is visible on the canvas now, or None."""
        if self.layer is None or not self.layer.visible or self.loading_study is not None:
            return None
        return self.study_id

    # ------------------------------------------------------------------ views and windows
    def set_view(self, name: str, *, keep_zoom: bool = False, keep_camera: bool = False, reslice: bool = False) -> None:
        """Axial, coronal or sagittal, at the middle slice, fitted to the canvas (or the kept zoom).

        ``keep_camera``: the plane and extent are what the camera shows already (a case switch
        between volumes of one size): zoom and pan stay. ``reslice``: the layer's data changed
        with slicing held back (:meth:`show`), so cut the slice even if the point stays.
        """
        order, orientation = VIEWS[name]
        same_plane = name == self.view and tuple(self.viewer.dims.order) == order
        self.view = name
        if self.layer is None:
            return
        if self.loading_study is None and not self.layer.visible:
            with _held_slicing(self.layer):
                self.layer.visible = True  # napari re-slices on every set, changed or not
            reslice = True
        if self.viewer.dims.ndisplay != 2:
            self.viewer.dims.ndisplay = 2
        if tuple(self.viewer.dims.order) != order:
            self.viewer.dims.order = order
        if tuple(camera_of(self.viewer).orientation2d) != orientation:
            camera_of(self.viewer).orientation2d = orientation
        axis = order[0]
        n = self.layer.data.shape[axis]
        middle = (n - 1) / 2 * self.layer.scale[axis]
        before = self.viewer.dims.current_step
        self.viewer.dims.set_point(axis, middle)
        if reslice and self.viewer.dims.current_step == before:
            self.layer.refresh()  # the point did not move, so napari did not cut the new data's slice
        if not (keep_camera and same_plane and self._fitted_zoom is not None):
            self.viewer.reset_view()
            self._fitted_zoom = camera_of(self.viewer).zoom
            if keep_zoom and self._relative_zoom is not None:
                camera_of(self.viewer).zoom = camera_of(self.viewer).zoom * self._relative_zoom
        self._wheel_rest = 0.0
        self._annotate()

    def set_window(self, window: WindowPreset, *, by_hand: bool = False) -> None:
        """Apply ``window``; ``by_hand`` (a preset key, the key pair, a right-drag) keeps it across cases."""
        self.window = window
        if by_hand:
            self.hand_window = window
        if self.layer is not None and tuple(self.layer.contrast_limits) != window.contrast_limits:
            self.layer.contrast_limits = window.contrast_limits
        self._annotate()

    def follow_findings(self) -> None:
        """Forget the hand-set window: the selected finding's window applies again."""
        self.hand_window = None

    def nudge_window(self, *, width_factor: float = 1.0, level_shift: float = 0.0) -> None:
        """The key pair / right-drag: widen or narrow the window, move the level (HU)."""
        low, high = adjusted(self.window.contrast_limits, width_factor=width_factor, level_shift=level_shift)
        self.set_window(WindowPreset.from_limits(low, high), by_hand=True)

    def step_slice(self, step: int) -> None:
        """Page ``step`` slices in PACS order (+1: the next slice number; in axial towards the feet)."""
        if self.layer is None or self.loading_study is not None:
            return
        axis = self.viewer.dims.not_displayed[0]
        current = self.viewer.dims.current_step[axis]
        top = self.viewer.dims.nsteps[axis] - 1
        index_step = -step if self.view == "axial" else step  # napari's index grows to the head
        self.viewer.dims.set_current_step(axis, int(max(0, min(top, current + index_step))))
        self._annotate()

    def slice_index(self) -> tuple[int, int]:
        """(napari's 0-based index along the axis not shown, count)."""
        axis = self.viewer.dims.not_displayed[0]
        index = int(round(self.viewer.dims.point[axis] / self.layer.scale[axis]))
        return index, int(self.layer.data.shape[axis])

    def slice_position(self) -> tuple[int, int]:
        """(PACS slice number, slice count): axial counts head to feet, coronal front to back,
        sagittal right to left, from 1."""
        if self.layer is None:
            return (0, 0)
        index, total = self.slice_index()
        number = total - index if self.view == "axial" else index + 1  # z grows to the head in LPS
        return number, total

    def instance_number(self) -> int | None:
        """The DICOM InstanceNumber of the slice shown, when the plane shown is the acquired one."""
        if self.layer is None or not self.slice_numbers or self.viewer.dims.not_displayed[0] != self.slice_axis:
            return None
        index, _ = self.slice_index()
        return self.slice_numbers[index] if 0 <= index < len(self.slice_numbers) else None

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
        from radcurate.desktop.viewer.measure import MeasureTool

        self.measure = MeasureTool(self, lambda position: self.on_crosshair and self.on_crosshair(position))

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
        if self.measure is not None:
            self.measure.remove()
        self.annotations.remove()

    def _wheel(self, viewer: Any, event: Any) -> None:
        """Wheel pages slices (one per 120 eighths of a degree, fractions added up; towards you = the
        next slice, as on PACS); Ctrl+wheel zooms."""
        delta = float(event.delta[1]) if len(event.delta) > 1 else 0.0  # vispy: angleDelta / 120
        if delta == 0:
            return
        if "Control" in event.modifiers:
            camera_of(viewer).zoom = camera_of(viewer).zoom * (1.15**delta)
        elif not event.modifiers:
            if self._wheel_rest * delta < 0:
                self._wheel_rest = 0.0  # turned back: start counting again
            self._wheel_rest += delta
            notches = int(self._wheel_rest)  # towards zero
            if notches:
                self._wheel_rest -= notches
                self.step_slice(-notches)
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
            self.set_window(WindowPreset("custom", width, base.level + dy * base.width / 400.0), by_hand=True)
            event.handled = True
            yield
        event.handled = True

    def _update_status(self, _event: Any = None) -> None:
        if self.layer is None or self.showing is None:
            return
        hu = self.hu_at(self.viewer.cursor.position)
        number, total = self.slice_position()
        where = f"{self.view} slice {number}/{total}"
        instance = self.instance_number()
        if instance is not None:
            where += f" (Im {instance})"
        readout = f"HU {hu:.0f} · {where}" if hu is not None else where
        self.viewer.status = f"{self.message}   ·   {readout}" if self.message else readout

    def _own_status(self, _event: Any = None) -> None:
        """napari's status thread posts its own layer status (a dict); show ours (HU, slice) instead."""
        if not isinstance(self.viewer.status, str) and self.layer is not None:
            self._update_status()

    def _annotate_event(self, _event: Any = None) -> None:
        self._annotate()

    def header(self) -> str:
        """The canvas's top-left text: study · series, then plane, slice and window."""
        if self.loading_study is not None:
            return f"{self.loading_study} · loading…"
        if self.layer is None or self.study_id is None:
            return ""
        number, total = self.slice_position()
        window = self.window
        name = window.name if window.name in PRESETS else "custom"
        series = f"{self.description}\n" if self.description else ""
        instance = self.instance_number()
        image = f" · Im {instance}" if instance is not None else ""  # the DICOM InstanceNumber, as PACS shows it
        where = f"{self.view} {number}/{total}{image}   W {window.width:.0f} L {window.level:.0f} ({name})"
        return f"{self.study_id}\n{series}{where}"

    def _annotate(self) -> None:
        if self.loading_study is not None:
            self.annotations.show(self.header(), plane=None, loading=f"loading\n{self.loading_study}")
        elif self.layer is not None and self.study_id is not None:
            self.annotations.show(self.header(), plane=self.view)
        for listener in self.listeners:
            listener()
