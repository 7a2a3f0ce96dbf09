"""The image on screen is always the case shown in the docks (issue 11, bug 1).

While a case's volume loads, the previous image is hidden, the canvas says "loading <study>" and
names the study, and decisions are refused; this holds for PageDown/PageUp, a worklist click and
an undo that jumps back to another case. The last test does it on the real JPEG 2000 DICOM series,
sampling the canvas every 20 ms while it loads.
"""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from radcurate.desktop.viewer.canvas import DisplayVolume
from tests.desktop.conftest import READER, press

pytestmark = pytest.mark.gui


class GatedLoader:
    """Small synthetic volumes (a study's number in its voxels); a study in ``held`` waits for release."""

    def __init__(self) -> None:
        self.held: dict[str, threading.Event] = {}

    def hold(self, study_id: str) -> None:
        self.held[study_id] = threading.Event()

    def release(self) -> None:
        for event in self.held.values():
            event.set()
        self.held.clear()

    def __call__(self, project, study_id: str) -> DisplayVolume:  # noqa: ANN001
        event = self.held.get(study_id)
        if event is not None:
            event.wait(20)
        series = project.series(study_id)[0]
        data = np.full((12, 48, 40), -1000, np.int16)
        data[:, 10:38, 8:32] = 40
        return DisplayVolume(study_id, series.id, data, (2.0, 1.0, 1.0), description="synthetic")


@pytest.fixture
def gated(viewer, phantom_project, qtbot):  # noqa: ANN001
    from radcurate.desktop.app import ReviewApp
    from radcurate.desktop.viewer.prefetch import VolumePrefetcher

    loader = GatedLoader()
    viewer.window._qt_window.resize(1600, 1000)
    app = ReviewApp(
        viewer, phantom_project, READER, poll_jobs=False, prefetcher=VolumePrefetcher(phantom_project, loader=loader)
    )
    app.start()
    qtbot.waitUntil(lambda: app.shown_study == app.session.study_id, timeout=10000)
    yield app, loader
    loader.release()
    app.close()


def _cold(app, loader, study: str) -> None:  # noqa: ANN001
    """Make ``study`` load slowly from scratch: nothing cached, its load held."""
    app.prefetcher.clear()
    loader.hold(study)


def _assert_loading(app, study: str) -> None:  # noqa: ANN001
    text = app.volume_view.annotations.current()
    assert app.session.study_id == study and app.report.title.text() == f"<b>{study}</b>"
    assert text.loading == f"loading {study}" and text.header.startswith(study)
    assert not app.volume_view.layer.visible  # the previous case's image is not on screen
    assert app.volume_view.showing is None and app.loading


def test_a_decision_while_the_case_loads_is_refused_and_the_canvas_says_loading(gated, qtbot) -> None:  # noqa: ANN001
    app, loader = gated
    first, ids = app.session.study_id, [e.study_id for e in app.session.worklist]
    header = app.volume_view.annotations.current().header
    assert header.startswith(f"{first}\nsynthetic\naxial")
    assert app.volume_view.annotations.current().letters == ("A", "P", "R", "L")
    _cold(app, loader, ids[1])
    press(app.viewer, "PageDown")
    _assert_loading(app, ids[1])
    press(app.viewer, "P", "Enter", "Shift-N")
    assert app.project.history() == []
    assert app.viewer.status.startswith("NOT SAVED") and ids[1] in app.viewer.status
    loader.release()
    qtbot.waitUntil(lambda: app.volume_view.showing == ids[1], timeout=10000)
    assert app.volume_view.layer.metadata["study_id"] == ids[1] and not app.loading
    press(app.viewer, "P")
    (decision,) = app.project.history()
    assert decision.study_id == ids[1] and decision.series_id == app.project.series(ids[1])[0].id


def test_page_up_worklist_click_and_undo_jump_wait_for_their_image(gated, qtbot) -> None:  # noqa: ANN001
    from qtpy.QtCore import Qt

    app, loader = gated
    ids = [e.study_id for e in app.session.worklist]
    press(app.viewer, "Enter")  # case 0 confirmed: on case 1
    qtbot.waitUntil(lambda: app.volume_view.showing == ids[1], timeout=10000)
    saved = len(app.project.history())
    # PageUp
    _cold(app, loader, ids[0])
    press(app.viewer, "PageUp")
    _assert_loading(app, ids[0])
    press(app.viewer, "Control-Z")  # even undo waits: it would jump to yet another case
    assert len(app.project.history()) == saved
    loader.release()
    qtbot.waitUntil(lambda: app.volume_view.showing == ids[0], timeout=10000)
    # a worklist click
    _cold(app, loader, ids[3])
    table = app.worklist.table
    rect = table.visualRect(app.worklist.model.index(app.worklist.model.row_of(ids[3]), 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    _assert_loading(app, ids[3])
    press(app.viewer, "A")
    assert len(app.project.history()) == saved
    loader.release()
    qtbot.waitUntil(lambda: app.volume_view.showing == ids[3], timeout=10000)
    # an undo that jumps back to case 0
    _cold(app, loader, ids[0])
    press(app.viewer, "Control-Z")
    _assert_loading(app, ids[0])
    assert app.project.gold(ids[0], reader=READER) == {}  # the undo itself is committed
    loader.release()
    qtbot.waitUntil(lambda: app.volume_view.showing == ids[0], timeout=10000)


def _j2k_project(phantom_template, tmp_path, shared_data):  # noqa: ANN001, ANN202
    from radcurate.engine.project import Project

    folder = tmp_path / "project"
    shutil.copytree(phantom_template, folder)
    project = Project.open(folder)
    project.import_paths([shared_data / "dicom-ct-series-j2k-totalsegmentator"])
    return project


@pytest.mark.slow  # imports and decodes the real series (about 20 s on 2 busy cores)
def test_real_j2k_series_never_shows_the_old_image_with_the_new_report(
    viewer,
    phantom_template,
    tmp_path,
    shared_data,
    qtbot,  # noqa: ANN001
) -> None:
    """Every 20 ms while the cold JPEG 2000 series decodes: the canvas names the study the report
    dock shows, and an image is visible only when it is that study's."""
    from qtpy.QtCore import QTimer

    from radcurate.desktop.app import ReviewApp

    project = _j2k_project(phantom_template, tmp_path, shared_data)
    j2k = "dicom-ct-series-j2k-totalsegmentator"
    viewer.window._qt_window.resize(1600, 1000)
    app = ReviewApp(viewer, project, READER, poll_jobs=False)
    first = next(e.study_id for e in app.session.refresh_worklist() if e.study_id != j2k)
    app.start(first)
    qtbot.waitUntil(lambda: app.volume_view.showing == first, timeout=30000)
    app.prefetcher.clear()  # cold: the J2K series is decoded from its files now
    canvas = viewer.window._qt_viewer.canvas.native
    samples: list[tuple[str, str, str | None, bool, float | None]] = []

    def sample() -> None:
        report = app.report.title.text().removeprefix("<b>").removesuffix("</b>")
        drawn = app.volume_view.annotations.current()
        layer = app.volume_view.layer
        brightness = None
        if len(samples) % 5 == 0:  # what is really on the canvas, off the centre text
            frame = canvas.grabFramebuffer()
            w, h = frame.width(), frame.height()
            brightness = float(np.mean([frame.pixelColor(x, y).value() for x in range(w // 5, w // 2, 9)
                                        for y in (int(h * 0.68), int(h * 0.72))]))  # fmt: skip
        samples.append((report, drawn.header, layer.metadata.get("study_id") if layer.visible else None,
                        bool(drawn.loading), brightness))  # fmt: skip

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(sample)
    timer.start()
    app.session.open_case(j2k)
    sample()
    qtbot.waitUntil(lambda: app.volume_view.showing == j2k, timeout=30000)
    qtbot.wait(100)
    timer.stop()
    app.close()
    project.close()
    loading = [s for s in samples if s[3]]
    print(f"J2K switch: {len(samples)} canvas samples, {len(loading)} while loading")  # shown with -s
    assert len(loading) >= 1 and len(samples) >= 3
    for report, header, visible_study, is_loading, _ in samples:
        assert header.split(" · ")[0].split("\n")[0] == report  # the canvas names the report's study
        assert visible_study in (None, report)  # never another study's image beside this report
        assert is_loading == (visible_study is None)
    dark = [b for *_, loading_now, b in samples if loading_now and b is not None]
    assert all(b < 20 for b in dark), dark  # nothing drawn but the words while loading
    assert samples[-1][:3] == (j2k, samples[-1][1], j2k) and "CT Body 3.0" in samples[-1][1]
