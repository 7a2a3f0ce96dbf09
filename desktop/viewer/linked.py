"""Linked views: the two planes the canvas does not show, through one crosshair point.

Like a PACS's MPR layout: with the axial plane on the canvas, the dock shows the coronal and
sagittal planes through the crosshair, each with the crosshair drawn and its orientation letters.
A click on the canvas (desktop/viewer/measure.py) or in a linked view moves the crosshair; a
click in a linked view also pages the canvas to that slice; paging the canvas moves the
crosshair's third coordinate, so the lines in the linked views follow the slice shown. The
planes are cut from the same ``(Z, Y, X)`` array as the canvas, in the canvas's window, and
drawn with their physical aspect (voxel spacing in mm), head up, patient's right on the left.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QImage, QPainter, QPen
from qtpy.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from radcurate.desktop.viewer.overlays import ORIENTATION_LETTERS

AXIS_OF = {"axial": 0, "coronal": 1, "sagittal": 2}  # the (Z, Y, X) axis each plane cuts across
CROSS = QColor("#4dd0e1")


def plane_image(data: np.ndarray, plane: str, point: tuple[int, int, int]) -> np.ndarray:
    """The plane through ``point`` (z, y, x) as rows × cols in screen order (head / anterior up)."""
    z, y, x = point
    if plane == "axial":
        return data[z]  # rows: anterior → posterior, cols: right → left
    if plane == "coronal":
        return data[::-1, y, :]  # rows: head → feet, cols: right → left
    return data[::-1, :, x]  # sagittal: rows head → feet, cols anterior → posterior


def plane_spacing(scale: tuple[float, float, float], plane: str) -> tuple[float, float]:
    """(row, col) spacing in mm of :func:`plane_image`."""
    sz, sy, sx = scale
    return {"axial": (sy, sx), "coronal": (sz, sx), "sagittal": (sz, sy)}[plane]


def cross_in_plane(shape: tuple[int, int, int], plane: str, point: tuple[int, int, int]) -> tuple[int, int]:
    """(row, col) of the crosshair in :func:`plane_image`."""
    z, y, x = point
    top = shape[0] - 1
    return {"axial": (y, x), "coronal": (top - z, x), "sagittal": (top - z, y)}[plane]


class PlaneView(QWidget):
    """One linked plane: the image at its physical aspect, the crosshair, the letters."""

    def __init__(self, owner: LinkedViews, plane: str):
        super().__init__()
        self.owner = owner
        self.plane = plane
        self.image: QImage | None = None
        self.cross: tuple[int, int] = (0, 0)
        self.aspect = 1.0  # height / width in mm
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_plane(self, plane: str, pixels: np.ndarray, spacing: tuple[float, float], cross: tuple[int, int]) -> None:
        self.plane = plane
        rows, cols = pixels.shape
        buffer = np.ascontiguousarray(pixels)
        self.image = QImage(buffer.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()
        self.aspect = rows * spacing[0] / max(cols * spacing[1], 1e-6)
        self.cross = cross
        self.update()

    def target(self) -> QRectF:
        """Where the image is drawn: the largest rectangle of its physical aspect that fits."""
        w, h = self.width(), self.height()
        width = min(w, h / self.aspect)
        height = width * self.aspect
        return QRectF((w - width) / 2, (h - height) / 2, width, height)

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("black"))
        if self.image is None:
            painter.end()
            return
        rect = self.target()
        painter.drawImage(rect, self.image)
        rows, cols = self.image.height(), self.image.width()
        cx = rect.left() + (self.cross[1] + 0.5) / cols * rect.width()
        cy = rect.top() + (self.cross[0] + 0.5) / rows * rect.height()
        painter.setPen(QPen(CROSS, 1))
        painter.drawLine(QPointF(rect.left(), cy), QPointF(rect.right(), cy))
        painter.drawLine(QPointF(cx, rect.top()), QPointF(cx, rect.bottom()))
        painter.setPen(QColor("#f6d36b"))
        top, bottom, left, right = ORIENTATION_LETTERS[self.plane]
        painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), 16), Qt.AlignmentFlag.AlignHCenter, top)
        painter.drawText(
            QRectF(rect.left(), rect.bottom() - 16, rect.width(), 16), Qt.AlignmentFlag.AlignHCenter, bottom
        )
        painter.drawText(QRectF(rect.left() + 3, cy - 8, 16, 16), Qt.AlignmentFlag.AlignLeft, left)
        painter.drawText(QRectF(rect.right() - 14, cy - 8, 16, 16), Qt.AlignmentFlag.AlignLeft, right)
        painter.drawText(QRectF(4, 2, 120, 16), Qt.AlignmentFlag.AlignLeft, self.plane)
        painter.end()

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self.image is None:
            return
        rect = self.target()
        pos = event.position() if hasattr(event, "position") else event.pos()
        if not rect.contains(pos):
            return
        row = int((pos.y() - rect.top()) / rect.height() * self.image.height())
        col = int((pos.x() - rect.left()) / rect.width() * self.image.width())
        self.owner.clicked(self.plane, row, col)


class CanvasCrosshair:
    """The crosshair on the main canvas: two lines through the linked point, in the plane shown.

    A vispy line in napari's scene (world coordinates, mm), above the image: not a napari layer,
    so moving it re-slices nothing and the review keys stay on the CT layer. Shown once the reader
    places the crosshair (a click on the image or in a linked view) and hidden on a case switch.
    """

    def __init__(self, viewer: Any):
        from vispy.scene.visuals import Line

        self.viewer = viewer
        view = viewer.window._qt_viewer.canvas.view
        self.line = Line(pos=np.zeros((4, 2), np.float32), color=CROSS.name(), connect="segments", width=1)
        self.line.set_gl_state("translucent", depth_test=False)
        self.line.order = 10_000  # drawn after every layer
        self.line.parent = view.scene
        self.line.visible = False
        self.segments: np.ndarray | None = None  # (4, 2) world (mm) ends, (screen x, screen y) = (dims 1, 0)

    def show(self, point: tuple[int, int, int], shape: tuple[int, ...], scale: tuple[float, ...]) -> None:
        """Lines through ``point`` (voxels z, y, x) across the whole plane shown."""
        d0, d1 = (int(d) for d in self.viewer.dims.displayed)
        world = [p * s for p, s in zip(point, scale, strict=True)]
        lo = [-0.5 * s for s in scale]
        hi = [(n - 0.5) * s for n, s in zip(shape, scale, strict=True)]
        # vispy's x is napari's second displayed axis, its y the first
        self.segments = np.array(
            [[lo[d1], world[d0]], [hi[d1], world[d0]], [world[d1], lo[d0]], [world[d1], hi[d0]]], np.float32
        )
        self.line.set_data(pos=self.segments)
        self.line.visible = True

    def hide(self) -> None:
        self.line.visible = False

    @property
    def visible(self) -> bool:
        return bool(self.line.visible)

    def remove(self) -> None:
        self.line.parent = None


class LinkedViews(QWidget):
    """The "Views" dock: the two planes not on the canvas, through the crosshair."""

    def __init__(self, volume_view: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = volume_view
        self.point: tuple[int, int, int] | None = None  # crosshair (z, y, x) in voxels
        self._pending = False
        self._placed_on: str | None = None  # the study the reader placed the crosshair on (then it is drawn)
        self.crosshair = CanvasCrosshair(volume_view.viewer)
        self.panes = [PlaneView(self, "coronal"), PlaneView(self, "sagittal")]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        for pane in self.panes:
            layout.addWidget(pane, 1)
        self.setToolTip("Linked views through the crosshair: click here or on the image to move it")

    def planes(self) -> list[str]:
        return [p for p in ("axial", "coronal", "sagittal") if p != self.view.view]

    def set_world_point(self, world: tuple[float, ...]) -> None:
        """A click on the canvas: the crosshair goes there (world mm → voxel)."""
        layer = self.view.layer
        if layer is None:
            return
        index = np.round(np.asarray(layer.world_to_data(world), dtype=float)).astype(int)
        self.point = tuple(int(np.clip(i, 0, n - 1)) for i, n in zip(index, layer.data.shape, strict=True))  # type: ignore[assignment]
        self._placed_on = self.view.study_id
        self.refresh()

    def clicked(self, plane: str, row: int, col: int) -> None:
        """A click in a linked view: move the crosshair, and the canvas to the clicked slice."""
        layer = self.view.layer
        if layer is None or self.point is None:
            return
        z, y, x = self.point
        top = layer.data.shape[0] - 1
        if plane == "axial":
            y, x = row, col
        elif plane == "coronal":
            z, x = top - row, col
        else:
            z, y = top - row, col
        self.point = (z, y, x)
        self._placed_on = self.view.study_id
        axis = AXIS_OF[self.view.view]
        self.view.viewer.dims.set_current_step(axis, self.point[axis])
        self.refresh()

    def refresh_soon(self) -> None:
        """Redraw once the current event is done: a case switch or a wheel burst changes the canvas
        several times, and the key press that switched must not wait for the linked views."""
        from qtpy.QtCore import QTimer

        if self._placed_on != self.view.study_id and self.crosshair.visible:
            self.crosshair.hide()  # at once: never the last case's crosshair over this one's image
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        """Redraw both planes (the canvas's slice, window or volume changed)."""
        self._pending = False
        view, layer = self.view, self.view.layer
        if layer is None or view.showing is None:
            for pane in self.panes:
                pane.image = None
                pane.update()
            self.crosshair.hide()
            return
        data = np.asarray(layer.data)
        shape = data.shape
        if self.point is None or any(p >= n for p, n in zip(self.point, shape, strict=True)):
            self.point = (shape[0] // 2, shape[1] // 2, shape[2] // 2)
        point = list(self.point)
        axis = AXIS_OF[view.view]
        point[axis] = int(view.viewer.dims.current_step[axis])  # the canvas's slice
        self.point = (point[0], point[1], point[2])
        low, high = view.window.contrast_limits
        for pane, plane in zip(self.panes, self.planes(), strict=True):
            pixels = plane_image(data, plane, self.point).astype(np.float32)
            gray = np.clip((pixels - low) / max(high - low, 1.0) * 255.0, 0, 255).astype(np.uint8)
            spacing = plane_spacing(tuple(layer.scale), plane)  # type: ignore[arg-type]
            pane.set_plane(plane, gray, spacing, cross_in_plane(shape, plane, self.point))
        if self._placed_on == view.study_id:
            self.crosshair.show(self.point, shape, tuple(layer.scale))
        else:
            self.crosshair.hide()  # another case: the crosshair shows again where the reader clicks
