"""The reader's tools added for issue 11's second round: the crosshair drawn on the main canvas,
flag and skip keys stored through the engine, docks that recover after the window shrinks and
grows, and the DICOM InstanceNumber beside the PACS slice number."""

from __future__ import annotations

import numpy as np
import pytest

from tests.desktop.conftest import READER, press
from tests.desktop.viewer.test_tools import SCALE, tool_app  # noqa: F401 - the fixture

pytestmark = pytest.mark.gui


def _cyan(frame, x: int, y: int) -> bool:  # noqa: ANN001
    colour = frame.pixelColor(x, y)  # the CT is grey (r = g = b): the line's cyan stands out, blended or not
    return colour.blue() - colour.red() > 50 and colour.green() - colour.red() > 50


def test_a_click_draws_the_crosshair_on_the_canvas_and_the_next_case_drops_it(tool_app, qtbot) -> None:  # noqa: ANN001, F811
    from qtpy.QtCore import QPoint, Qt

    app, viewer = tool_app, tool_app.viewer
    canvas = viewer.window._qt_viewer.canvas.native
    cross = app.linked.crosshair
    assert not cross.visible  # nothing placed yet
    centre = QPoint(canvas.width() // 2 + 20, canvas.height() // 2 + 10)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    qtbot.waitUntil(lambda: cross.visible, timeout=3000)
    z, y, x = app.linked.point
    assert cross.segments is not None
    np.testing.assert_allclose(cross.segments[0], [-0.5 * SCALE[2], y * SCALE[1]])  # the row through the point
    np.testing.assert_allclose(cross.segments[2], [x * SCALE[2], -0.5 * SCALE[1]])  # the column through it
    assert app.linked.panes[0].cross == (app.volume_view.layer.data.shape[0] - 1 - z, x)  # the linked view agrees
    canvas.repaint()
    frame = canvas.grabFramebuffer()
    near = range(-16, 17)  # a 1-pixel line; it runs through the clicked voxel's centre, within a voxel of the click
    row = [any(_cyan(frame, px, centre.y() + d) for d in near) for px in range(centre.x() - 120, centre.x() - 40, 8)]
    column = [any(_cyan(frame, centre.x() + d, py) for d in near) for py in range(centre.y() - 120, centre.y() - 40, 8)]
    assert all(row) and all(column)  # both lines are on screen
    press(viewer, "PageDown")
    assert not cross.visible  # at once: never the last case's crosshair over this case


def test_flag_and_skip_keys_are_committed_through_the_engine(tool_app, qtbot) -> None:  # noqa: ANN001, F811
    app = tool_app
    project, study = app.project, app.session.study_id
    press(app.viewer, "Shift-F")
    (flag,) = project.case_flags(study, reader=READER)
    assert "⚑ flagged" in app.findings.summary.text() and f"saved #{flag.id}" in app.viewer.status
    press(app.viewer, "Shift-F")
    assert project.case_flags(study, reader=READER) == [] and "⚑" not in app.findings.summary.text()
    press(app.viewer, "Shift-F", "Shift-PageDown")
    assert [f.action for f in project.case_flag_history(study)] == ["flag", "unflag", "flag", "skip"]
    assert app.session.study_id != study and project.history() == []  # no decision was written
    assert "⚑" not in app.findings.summary.text()  # the next case is not flagged
    app.session.open_case(study)
    qtbot.waitUntil(lambda: "⚑ flagged" in app.findings.summary.text(), timeout=3000)  # the flag held


def test_docks_recover_after_the_window_shrinks_and_grows(tool_app, qtbot) -> None:  # noqa: ANN001, F811
    app = tool_app
    window = app.viewer.window._qt_window
    qtbot.wait(300)
    before = {d.windowTitle(): (d.width(), d.height()) for d in app.docks if d.isVisible()}
    table = app.findings.table
    assert table.rowViewportPosition(17) + table.rowHeight(17) <= table.viewport().height()  # all 18 shown
    window.resize(900, 620)
    qtbot.wait(300)
    assert app.findings.width() < before["Findings"][0] or app.findings.height() < before["Findings"][1]
    window.resize(1600, 1000)

    def recovered() -> bool:
        now = {d.windowTitle(): (d.width(), d.height()) for d in app.docks if d.isVisible()}
        return all(abs(now[k][0] - w) <= 12 and abs(now[k][1] - h) <= 12 for k, (w, h) in before.items())

    qtbot.waitUntil(recovered, timeout=3000)
    assert table.rowViewportPosition(17) + table.rowHeight(17) <= table.viewport().height()


def test_the_canvas_shows_the_instance_number_beside_the_pacs_slice_number(viewer, phantom_project, qtbot) -> None:  # noqa: ANN001
    from radcurate.desktop.app import ReviewApp

    entries = phantom_project.worklist(reader=READER)
    study = next(e for e in entries if phantom_project.series(e.study_id)[0].loader == "dicom")
    app = ReviewApp(viewer, phantom_project, READER, poll_jobs=False)
    app.start(study.study_id)
    qtbot.waitUntil(lambda: app.volume_view.showing == study.study_id, timeout=30000)
    view = app.volume_view
    n = view.layer.data.shape[0]
    viewer.dims.set_current_step(0, n - 1)  # the most superior slice: PACS slice 1
    assert view.slice_position() == (1, n) and " 1/" in view.header() and "· Im 1 " in view.header()
    press(viewer, "Right")  # the next slice, towards the feet
    assert view.slice_position() == (2, n) and "· Im 2 " in view.header()
    press(viewer, "Shift-C")  # coronal: not the acquired plane, no instance number
    assert "Im " not in view.header()
    app.close()
