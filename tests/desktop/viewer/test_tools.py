"""What a reader reaches for: ruler (mm), ROI (mean HU), linked views with a crosshair, series picker,
PACS slice numbering, orientation letters, and the plane / zoom / window kept across cases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from radcurate.desktop.viewer.canvas import DisplayVolume
from radcurate.desktop.viewer.linked import plane_image
from radcurate.desktop.viewer.measure import roi_stats
from radcurate.desktop.viewer.presets import MEDIASTINUM
from tests.desktop.conftest import READER, press

pytestmark = pytest.mark.gui
SCALE = (2.0, 0.8, 0.8)  # z, y, x mm


def _volume(project, study_id: str) -> DisplayVolume:  # noqa: ANN001
    data = np.full((20, 60, 50), -1000, np.int16)
    data[:, 10:50, 10:40] = 40  # a soft-tissue block: 40 HU everywhere inside
    data[15:, 28:32, 23:27] = 700  # a superior bone rod near the centre
    return DisplayVolume(study_id, project.series(study_id)[0].id, data, SCALE, description="synthetic")


@pytest.fixture
def tool_app(viewer, phantom_project, qtbot):  # noqa: ANN001
    from radcurate.desktop.app import ReviewApp
    from radcurate.desktop.viewer.prefetch import VolumePrefetcher

    viewer.window._qt_window.resize(1600, 1000)
    app = ReviewApp(
        viewer, phantom_project, READER, poll_jobs=False, prefetcher=VolumePrefetcher(phantom_project, loader=_volume)
    )
    app.start()
    # 30 s: the first app of a test session builds its phantom volumes on 2 busy cores
    qtbot.waitUntil(lambda: app.volume_view.showing == app.session.study_id, timeout=30000)
    yield app
    app.close()


def _drag(qtbot, canvas, start, end, modifier) -> None:  # noqa: ANN001
    from qtpy.QtCore import QPoint, Qt

    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, modifier, QPoint(*start))
    for t in (0.5, 1.0):
        qtbot.mouseMove(
            canvas, QPoint(int(start[0] + t * (end[0] - start[0])), int(start[1] + t * (end[1] - start[1])))
        )
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, modifier, QPoint(*end))


def test_ruler_reads_mm_and_roi_reads_mean_hu(tool_app, qtbot) -> None:  # noqa: ANN001
    from qtpy.QtCore import Qt

    app, viewer = tool_app, tool_app.viewer
    canvas = viewer.window._qt_viewer.canvas.native
    cx, cy = canvas.width() // 2, canvas.height() // 2
    zoom = viewer.camera.zoom  # screen pixels per mm
    _drag(qtbot, canvas, (cx - 100, cy), (cx + 100, cy), Qt.KeyboardModifier.ShiftModifier)
    ruler = app.volume_view.measure.results[-1]
    assert ruler.kind == "ruler" and ruler.length_mm == pytest.approx(200 / zoom, rel=0.03)
    assert f"{ruler.length_mm:.1f} mm" in app.volume_view.measure.overlay.text
    assert viewer.layers.selection.active is app.volume_view.layer  # review keys stay live
    _drag(qtbot, canvas, (cx, cy + int(6 * zoom)), (cx + int(4 * zoom), cy + int(6 * zoom)),
          Qt.KeyboardModifier.ControlModifier)  # fmt: skip
    roi = app.volume_view.measure.results[-1]
    assert roi.kind == "roi" and roi.mean_hu == pytest.approx(40.0) and roi.sd_hu == pytest.approx(0.0)
    assert roi.area_mm2 == pytest.approx(np.pi * (4.0 * 1.0) ** 2, rel=0.25)
    press(viewer, "Shift-X")
    assert len(app.volume_view.measure.layer.data) == 0 and app.project.history() == []


def test_roi_statistics_on_a_known_plane() -> None:
    plane = np.zeros((21, 21))
    plane[10, 10] = 100.0
    stats = roi_stats(plane, (0.5, 0.5), (10.0, 10.0), 0.6)  # the centre voxel and its 4 neighbours
    assert stats.voxels == 5 and stats.mean_hu == pytest.approx(20.0) and stats.area_mm2 == pytest.approx(1.25)


def test_linked_views_follow_the_crosshair_and_the_slice(tool_app, qtbot) -> None:  # noqa: ANN001
    app, viewer = tool_app, tool_app.viewer
    linked = app.linked
    assert [p.plane for p in linked.panes] == ["coronal", "sagittal"]
    data = app.volume_view.layer.data
    world = (10 * SCALE[0], 30 * SCALE[1], 25 * SCALE[2])
    linked.set_world_point(world)
    z = viewer.dims.current_step[0]
    assert linked.point == (z, 30, 25)
    coronal = linked.panes[0]
    assert coronal.image.height() == data.shape[0] and coronal.image.width() == data.shape[2]
    assert coronal.cross == (data.shape[0] - 1 - z, 25)
    np.testing.assert_array_equal(plane_image(data, "coronal", linked.point)[0], data[-1, 30, :])  # head on top
    linked.clicked("coronal", 2, 25)  # a click near the top of the coronal view: a superior slice
    assert viewer.dims.current_step[0] == data.shape[0] - 3 == linked.point[0]
    assert app.volume_view.slice_position() == (3, data.shape[0])  # PACS: slice 3 from the head
    press(viewer, "Shift-C")
    qtbot.waitUntil(lambda: [p.plane for p in linked.panes] == ["axial", "sagittal"], timeout=3000)


def test_plane_zoom_and_hand_set_window_persist_across_cases(tool_app, qtbot) -> None:  # noqa: ANN001
    app, viewer = tool_app, tool_app.viewer
    view = app.volume_view
    press(viewer, "Shift-C", "2")  # coronal, mediastinal window by hand
    viewer.camera.zoom = viewer.camera.zoom * 2
    zoom = viewer.camera.zoom
    press(viewer, "PageDown")
    qtbot.waitUntil(lambda: view.showing == app.session.study_id, timeout=10000)
    assert view.view == "coronal" and viewer.dims.order == (1, 0, 2)
    assert tuple(view.layer.contrast_limits) == MEDIASTINUM.contrast_limits
    assert viewer.camera.zoom == pytest.approx(zoom, rel=0.02)
    assert view.annotations.current().letters == ("S", "I", "R", "L")
    app.session.select_finding("Emphysema")  # a lung finding: the hand-set window stays
    assert tuple(view.layer.contrast_limits) == MEDIASTINUM.contrast_limits
    press(viewer, "0")  # back to the finding's window
    assert view.window.name == "lung" and view.hand_window is None


def test_series_picker_shows_another_series_and_stamps_it(tool_app, qtbot) -> None:  # noqa: ANN001
    from radcurate.engine.store import decisions, studies

    app = tool_app
    project, study = app.project, app.session.study_id
    main = project.series(study)[0]
    other = dataclasses.replace(
        main, id="thin_lung_kernel", metadata={**main.metadata, "series_description": "Lung 1.0"}
    )
    with decisions.write_transaction(project.db):
        studies.insert_series(project.db, other)
    app.session.open_case(study)
    qtbot.waitUntil(lambda: app.volume_view.showing == study, timeout=10000)
    picker = app.series.combo
    assert picker.isEnabled() and picker.count() == 2
    assert any("Lung 1.0" in picker.itemText(i) for i in range(2))
    index = app.series.ids.index("thin_lung_kernel")
    picker.activated.emit(index)
    qtbot.waitUntil(lambda: app.session.series_id == "thin_lung_kernel" and not app.loading, timeout=20000)
    assert "Lung 1.0" in app.volume_view.annotations.current().header
    press(app.viewer, "P")
    assert project.history()[-1].series_id == "thin_lung_kernel"
