"""The CT image in the review app (needs a display: ``xvfb-run -a`` with QT_QPA_PLATFORM=xcb).

Volume layout and spacing, PACS mouse habits, window presets and views on keys, HU in the status
bar, the radiological orientation (checked on a screenshot of an asymmetric volume), and a case
switch that reuses the layer and shows a prefetched volume at once.
"""

from __future__ import annotations

import numpy as np
import pytest

from radcurate.desktop.viewer.canvas import DisplayVolume
from radcurate.desktop.viewer.presets import BONE, LUNG, MEDIASTINUM, preset_for_finding
from tests.desktop.conftest import READER, press

pytestmark = pytest.mark.gui


@pytest.fixture
def image_app(viewer, phantom_project, qtbot):  # noqa: ANN001
    from radcurate.desktop.app import ReviewApp

    viewer.window._qt_window.resize(1400, 900)
    app = ReviewApp(viewer, phantom_project, READER, poll_jobs=False)
    app.start()
    qtbot.waitUntil(lambda: app.shown_study == app.session.study_id, timeout=20000)
    yield app
    app.close()


def _contrast(app) -> tuple[float, float]:  # noqa: ANN001
    return tuple(float(v) for v in app.volume_view.layer.contrast_limits)


def test_volume_opens_axial_middle_slice_lung_window_with_spacing(image_app) -> None:  # noqa: ANN001
    app, viewer = image_app, image_app.viewer
    series = app.project.series(app.session.study_id)[0]
    layer = app.volume_view.layer
    x, y, z = series.shape
    assert layer.data.shape == (z, y, x)
    assert tuple(layer.scale) == pytest.approx((series.spacing[2], series.spacing[1], series.spacing[0]))
    assert viewer.dims.order == (0, 1, 2) and viewer.dims.ndisplay == 2
    assert app.volume_view.slice_position() == ((z - 1) // 2 + 1, z) or app.volume_view.slice_position()[0] in (
        z // 2,
        z // 2 + 1,
    )
    assert _contrast(app) == LUNG.contrast_limits
    volume = app.project.load_volume(series.id)
    assert np.array_equal(layer.data, volume.array.transpose(2, 1, 0))


def test_preset_and_view_keys_with_the_image_layer_active(image_app) -> None:  # noqa: ANN001
    app, viewer = image_app, image_app.viewer
    assert viewer.layers.selection.active is app.volume_view.layer  # its keymap is asked first
    press(viewer, "2")
    assert _contrast(app) == MEDIASTINUM.contrast_limits
    press(viewer, "3")
    assert _contrast(app) == BONE.contrast_limits
    press(viewer, "1")
    assert _contrast(app) == LUNG.contrast_limits
    press(viewer, "]")
    low, high = _contrast(app)
    assert high - low == pytest.approx(1500 * 1.2) and (low + high) / 2 == pytest.approx(-600)
    press(viewer, "=")
    low, high = _contrast(app)
    assert (low + high) / 2 == pytest.approx(-600 + 0.05 * 1800)
    press(viewer, "Shift-C")
    assert viewer.dims.order == (1, 0, 2) and tuple(viewer.camera.orientation2d) == ("up", "right")
    press(viewer, "Shift-S")
    assert viewer.dims.order == (2, 0, 1)
    press(viewer, "Shift-A")
    assert viewer.dims.order == (0, 1, 2) and tuple(viewer.camera.orientation2d) == ("down", "right")
    assert app.project.history() == []  # image keys record nothing


def test_moving_to_a_finding_applies_its_window(image_app) -> None:  # noqa: ANN001
    app, session = image_app, image_app.session
    names = [r.finding for r in session.rows]
    effusion = names.index("Pleural effusion")
    session.select(effusion - 1)
    press(app.viewer, "Down")
    assert _contrast(app) == MEDIASTINUM.contrast_limits == preset_for_finding("Pleural effusion").contrast_limits
    session.select(names.index("Emphysema"))
    assert _contrast(app) == LUNG.contrast_limits
    press(app.viewer, "3", "0")  # 0 = back to the selected finding's window
    assert _contrast(app) == LUNG.contrast_limits


def _wheel(canvas, delta: int, modifiers=None) -> None:  # noqa: ANN001
    from qtpy.QtCore import QPoint, QPointF, Qt
    from qtpy.QtGui import QWheelEvent
    from qtpy.QtWidgets import QApplication

    mods = modifiers or Qt.KeyboardModifier.NoModifier
    centre = QPointF(canvas.width() / 2, canvas.height() / 2)
    event = QWheelEvent(
        centre, canvas.mapToGlobal(centre), QPoint(0, 0), QPoint(0, delta), Qt.MouseButton.NoButton, mods,
        Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, event)


def test_wheel_pages_slices_and_ctrl_wheel_zooms(image_app) -> None:  # noqa: ANN001
    from qtpy.QtCore import Qt

    viewer = image_app.viewer
    canvas = viewer.window._qt_viewer.canvas.native
    view = image_app.volume_view
    start, zoom = view.slice_position()[0], viewer.camera.zoom  # PACS numbers: head = 1
    index = viewer.dims.current_step[0]
    _wheel(canvas, -120)  # towards the reader: the next slice, feet-wards
    _wheel(canvas, -120)
    assert view.slice_position()[0] == start + 2 and viewer.dims.current_step[0] == index - 2
    assert viewer.camera.zoom == pytest.approx(zoom)
    _wheel(canvas, 120)
    assert view.slice_position()[0] == start + 1
    _wheel(canvas, 120, Qt.KeyboardModifier.ControlModifier)
    assert viewer.camera.zoom == pytest.approx(zoom * 1.15)
    assert view.slice_position()[0] == start + 1
    press(viewer, "Right")
    assert view.slice_position()[0] == start + 2


def test_right_drag_changes_window_and_level(image_app, qtbot) -> None:  # noqa: ANN001
    from qtpy.QtCore import QPoint, Qt

    app, viewer = image_app, image_app.viewer
    canvas = viewer.window._qt_viewer.canvas.native
    zoom = viewer.camera.zoom
    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(100, 40))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=centre + QPoint(100, 40))
    window = app.volume_view.window
    assert window.width > LUNG.width * 1.3 and window.level > LUNG.level
    assert viewer.camera.zoom == pytest.approx(zoom)  # the camera did not zoom


def test_status_bar_shows_hu_and_slice(image_app) -> None:  # noqa: ANN001
    app, viewer = image_app, image_app.viewer
    layer = app.volume_view.layer
    z = viewer.dims.current_step[0]
    index = (z, layer.data.shape[1] // 2, layer.data.shape[2] // 2)
    viewer.cursor.position = tuple(np.asarray(index) * np.asarray(layer.scale))
    expected = float(layer.data[index])
    status = viewer.status if isinstance(viewer.status, str) else str(viewer.status)
    assert status.startswith(f"HU {expected:.0f} ")
    n = layer.data.shape[0]
    assert f"axial slice {n - z}/{n}" in status  # numbered head to feet, as on PACS


def test_next_case_reuses_the_layer_and_shows_the_prefetched_volume_at_once(image_app, qtbot) -> None:  # noqa: ANN001
    app, viewer = image_app, image_app.viewer
    layer = app.volume_view.layer
    upcoming = app.session.upcoming_study()
    qtbot.waitUntil(lambda: app.prefetcher.cached(upcoming), timeout=20000)
    press(viewer, "PageDown")
    assert app.session.study_id == upcoming
    assert app.shown_study == upcoming  # shown within the key press: no waiting on a load
    assert app.volume_view.layer is layer and viewer.layers[-1] is layer and len(viewer.layers) == 1
    assert layer.metadata["study_id"] == upcoming
    assert _contrast(app) == LUNG.contrast_limits and viewer.dims.order == (0, 1, 2)


def test_radiological_orientation_on_screen(viewer, phantom_project, qtbot) -> None:  # noqa: ANN001
    """Patient's left on the screen's right, anterior up (axial); head up (coronal, sagittal)."""
    from radcurate.desktop.app import ReviewApp
    from radcurate.desktop.viewer.prefetch import VolumePrefetcher

    array = np.full((80, 60, 50), -1000, dtype=np.int16)  # LPS (X, Y, Z)
    array[60:75, 5:15, :] = 1500  # patient's LEFT, ANTERIOR column, all heights
    array[35:45, 25:35, 40:] = 1500  # central block, SUPERIOR only

    def asymmetric(_project, study_id):  # noqa: ANN001, ANN202
        return DisplayVolume(study_id, "s", np.ascontiguousarray(array.transpose(2, 1, 0)), (2.0, 1.0, 1.0))

    viewer.window._qt_window.resize(1400, 900)
    prefetcher = VolumePrefetcher(phantom_project, loader=asymmetric)
    app = ReviewApp(viewer, phantom_project, READER, poll_jobs=False, prefetcher=prefetcher)
    app.start()
    qtbot.waitUntil(lambda: app.shown_study is not None, timeout=10000)
    press(viewer, "3")

    def bright_centre() -> tuple[float, float]:
        qtbot.wait(200)
        shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].mean(axis=-1)
        rows, cols = np.nonzero(shot > 200)
        return rows.mean() / shot.shape[0], cols.mean() / shot.shape[1]

    row, col = bright_centre()  # axial middle slice: only the left anterior column
    assert col > 0.5 and row < 0.5
    press(viewer, "Shift-C")  # coronal through the middle (y = 30): only the superior block
    row, col = bright_centre()
    assert row < 0.5 and 0.4 < col < 0.6
    app.close()
