"""Reading-room traps of issue 11 (bugs 2–7), driven by real key, mouse and wheel events.

Exit code on close, napari's own keys that changed the image silently, focus traps that turned
keys into wrong decisions, the worklist filter after a status change and Enter on the last case,
a high-resolution wheel, napari's reader choice and the plugin dock added from code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radcurate.desktop.viewer.canvas import DisplayVolume
from radcurate.desktop.viewer.keys import help_text
from radcurate.engine.vocabulary import LabelState
from tests.desktop.conftest import READER, press

CLI = "from radcurate.engine.cli.app import run; run()"


def _synthetic(project, study_id: str) -> DisplayVolume:  # noqa: ANN001
    data = np.full((16, 40, 36), -1000, np.int16)
    data[:, 8:30, 6:28] = 40
    return DisplayVolume(study_id, project.series(study_id)[0].id, data, (2.0, 0.8, 0.8), description="synthetic")


@pytest.fixture
def image_app(viewer, phantom_project, qtbot):  # noqa: ANN001
    from radcurate.desktop.app import ReviewApp
    from radcurate.desktop.viewer.prefetch import VolumePrefetcher

    viewer.window._qt_window.resize(1600, 1000)
    prefetcher = VolumePrefetcher(phantom_project, loader=_synthetic)
    app = ReviewApp(viewer, phantom_project, READER, poll_jobs=False, prefetcher=prefetcher)
    app.start()
    qtbot.waitUntil(lambda: app.volume_view.showing == app.session.study_id, timeout=10000)
    window = viewer.window._qt_window
    window.activateWindow()  # keyboard focus as on a desktop (xvfb has no window manager to give it)
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    app.focus_canvas()
    yield app
    app.close()


def _key(widget, name: str) -> None:  # noqa: ANN001
    """A key through QTest (shortcut override included, as a keyboard delivers it)."""
    from qtpy.QtTest import QTest

    from radcurate.desktop.driver import qt_key

    key, modifiers, _text = qt_key(name)
    QTest.keyClick(widget, key, modifiers)


# --------------------------------------------------------------------------- 2. exit code
@pytest.mark.slow  # a real `radcurate review` process (about 30 s on 2 busy cores)
def test_closing_the_window_exits_0_without_a_traceback(phantom_template: Path, tmp_path: Path) -> None:
    import shutil

    project = tmp_path / "project"
    shutil.copytree(phantom_template, project)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, "-c", CLI, "review", str(project), "--reader", READER, "--no-volumes", "--keys-from-stdin"]
    result = subprocess.run(cmd, input=b"P\nquit\n", capture_output=True, env=env, timeout=120)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr and "already deleted" not in stderr
    from radcurate.engine.project import Project

    with Project.open(project) as opened:
        assert len(opened.history(reader=READER)) == 1  # the P before quit is stored


# --------------------------------------------------------------------------- 3. napari's keys
@pytest.mark.gui
def test_napari_keys_that_change_the_image_silently_are_not_live(image_app, qtbot) -> None:  # noqa: ANN001
    app, viewer = image_app, image_app.viewer
    canvas = viewer.window._qt_viewer.canvas.native
    layer = app.volume_view.layer

    def shown() -> tuple:
        return (viewer.dims.ndisplay, tuple(viewer.dims.order), layer.visible, viewer.grid.enabled,
                np.asarray(layer.rotate).tolist(), len(viewer.layers), tuple(viewer.camera.orientation2d),
                tuple(viewer.dims.current_step))  # fmt: skip

    before = shown()
    napari_keys = ("V", "Shift-V", "Control-T", "Control-E", "Control-Y", "Control-G", "Control-Alt-T",
                   "Control-Backspace", "Alt-Up", "Control-Up", "Shift-Up", "Control-N", "Control-Alt-P",
                   "Control-U")  # fmt: skip
    for key in napari_keys:
        _key(canvas, key)
        assert shown() == before, key
    qtbot.wait(300)  # Ctrl+Alt+P would be playing through the slices by now
    assert shown() == before
    _wheel(canvas, -120)  # after Ctrl+Y the wheel raised IndexError
    press(viewer, "Right", "Shift-C")
    assert viewer.dims.order == (1, 0, 2) and app.project.history() == []


@pytest.mark.gui
def test_help_lists_every_live_key(image_app) -> None:  # noqa: ANN001
    from napari.utils.key_bindings import coerce_keybinding

    handler = image_app.viewer.window._qt_viewer._key_map_handler
    live = {k for k in handler.active_keymap if k is not Ellipsis}
    listed = {coerce_keybinding(k) for entry in image_app.keys.keymap for k in entry.keys}
    assert live == listed
    text = help_text(list(image_app.project.vocabulary))
    assert "Escape" in text and "Shift+N" in text and "Shift+M" in text
    from qtpy.QtWidgets import QMenu

    def walk(menu: QMenu):  # noqa: ANN202
        for action in menu.actions():
            yield action
            if action.menu() is not None:
                yield from walk(action.menu())

    bar = image_app.viewer.window._qt_window.menuBar()
    menu_keys = {a.shortcut().toString() for a in walk(bar) if not a.shortcut().isEmpty()}
    assert menu_keys and all(f"  {key} " in text for key in menu_keys), menu_keys


# --------------------------------------------------------------------------- 4. focus traps
@pytest.mark.gui
def test_keys_after_the_filter_popup_and_escape_decide_findings(image_app, qtbot) -> None:  # noqa: ANN001
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    app = image_app
    study = app.session.study_id
    combo = app.worklist.filter
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: combo.view().isVisible(), timeout=3000)
    _key(combo.view(), "Escape")  # closes the popup; focus stays on the combo box
    qtbot.waitUntil(lambda: not combo.view().isVisible(), timeout=3000)
    for key in ("D", "U", "Enter"):  # Lung nodule → uncertain, confirm the case
        _key(QApplication.focusWidget() or combo, key)
    assert combo.currentIndex() == 0  # the filter did not change
    gold = app.project.gold(study, reader=READER)
    assert gold["Lung nodule"] == LabelState.UNCERTAIN and len(gold) == len(app.project.vocabulary)
    assert QApplication.focusWidget() is app.viewer.window._qt_viewer.canvas.native


@pytest.mark.gui
def test_escape_leaves_a_text_field_and_enter_after_a_dock_tab_click_works(image_app, qtbot) -> None:  # noqa: ANN001
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication, QTabBar

    app = image_app
    canvas = app.viewer.window._qt_viewer.canvas.native
    study = app.session.study_id
    press(app.viewer, "Shift-M")  # the note field: letters are typing there, not decisions
    assert app.findings.note.isVisible() and QApplication.focusWidget() is app.findings.note
    for key in ("P", "A"):
        _key(app.findings.note, key)
    assert app.findings.note.text().upper() == "PA" and app.project.history() == []
    _key(app.findings.note, "Escape")
    assert not app.findings.note.isVisible() and QApplication.focusWidget() is canvas
    press(app.viewer, "Shift-M")
    qtbot.keyClicks(app.findings.note, "calcified")
    _key(app.findings.note, "Enter")
    trail = app.project.history()
    assert len(trail) == 1, [(d.kind, d.finding, d.note) for d in trail]
    (noted,) = trail
    assert noted.note == "calcified" and noted.finding == app.session.selected_row.finding
    tabs = [t for t in app.viewer.window._qt_window.findChildren(QTabBar) if t.isVisible() and t.count() > 1]
    assert tabs, "triage and jobs share a tabbed dock"
    tab = tabs[0]
    qtbot.mouseClick(tab, Qt.MouseButton.LeftButton, pos=tab.tabRect(tab.count() - 1).center())
    _key(QApplication.focusWidget() or tab, "Enter")
    assert len(app.project.gold(study, reader=READER)) == len(app.project.vocabulary)


# --------------------------------------------------------------------------- 5. worklist
def test_filter_follows_status_changes_and_enter_on_the_last_case_wraps(review_app) -> None:  # noqa: ANN001
    app, session = review_app, review_app.session
    ids = [e.study_id for e in session.worklist]
    app.worklist.filter.setCurrentIndex(1)  # to do (unreviewed + in progress)
    press(app.viewer, "Enter")  # case 0 done: it leaves the "to do" list at once
    assert [e.study_id for e in app.worklist.model.entries] == ids[1:]
    session.open_case(ids[-1])
    press(app.viewer, "Enter")  # the last case: wrap to the first unfinished one
    assert session.study_id == ids[1]
    assert [e.study_id for e in app.worklist.model.entries] == ids[1:-1]


# --------------------------------------------------------------------------- 6. wheel
def _wheel(canvas, delta: int) -> None:  # noqa: ANN001
    from qtpy.QtCore import QPoint, QPointF, Qt
    from qtpy.QtGui import QWheelEvent
    from qtpy.QtWidgets import QApplication

    centre = QPointF(canvas.width() / 2, canvas.height() / 2)
    event = QWheelEvent(
        centre, canvas.mapToGlobal(centre), QPoint(0, 0), QPoint(0, delta), Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, event)


@pytest.mark.gui
def test_a_high_resolution_wheel_pages_one_slice_per_120(image_app) -> None:  # noqa: ANN001
    view = image_app.volume_view
    canvas = image_app.viewer.window._qt_viewer.canvas.native
    start = view.slice_position()[0]
    for _ in range(3):
        _wheel(canvas, -40)  # a third of a notch each, towards the reader
    assert view.slice_position()[0] == start + 1
    for _ in range(5):
        _wheel(canvas, -24)
    assert view.slice_position()[0] == start + 2
    _wheel(canvas, 240)
    assert view.slice_position()[0] == start


# --------------------------------------------------------------------------- 7. napari integration
@pytest.mark.gui
def test_file_open_on_nifti_uses_radcurates_reader(viewer, shared_data) -> None:  # noqa: ANN001
    from radcurate.desktop.napari_plugin import ReviewPanel

    ReviewPanel(viewer)  # the plugin (or the app) records radcurate as the NIfTI / DICOM reader
    qt_viewer = viewer.window._qt_viewer
    path = shared_data / "nifti-ct-totalsegmentator" / "abdomen_ct_small_3mm.nii.gz"
    qt_viewer._qt_open([str(path)], stack=False)  # what File ▸ Open does with the chosen file
    (nifti,) = viewer.layers
    assert nifti.metadata["loader"] == "nifti" and tuple(nifti.scale) == pytest.approx((3.0, 3.0, 3.0))
    qt_viewer._qt_open([str(shared_data / "dicom-ct-3slice-dcmqi")], stack=False)  # File ▸ Open Folder
    dicom = viewer.layers[-1]
    assert dicom.metadata["loader"] == "dicom" and dicom.data.shape == (3, 512, 512)


@pytest.mark.gui
@pytest.mark.slow
def test_the_plugin_dock_added_from_code_then_started(viewer, phantom_project, qtbot) -> None:  # noqa: ANN001
    dock, panel = viewer.window.add_plugin_dock_widget("radcurate", "Review labels")
    panel.folder.setText(str(phantom_project.path))
    panel.reader.setText(READER)
    assert panel.start(), panel.message.text()
    app = panel.app
    qtbot.waitUntil(lambda: app.shown_study == app.session.study_id, timeout=20000)
    press(viewer, "Enter")
    assert len(phantom_project.history(reader=READER)) == len(phantom_project.vocabulary)
    app.close()


def test_the_reader_dialog_says_why_it_closes_on_cancel(phantom_project, qtbot, monkeypatch) -> None:  # noqa: ANN001
    from qtpy.QtWidgets import QInputDialog, QMessageBox

    from radcurate.desktop import launcher

    said: list[str] = []
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("", False)))
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda _parent, _title, text: said.append(text)))
    assert launcher.ask_reader(None) is None
    assert said == [launcher.NO_READER] and "--reader NAME" in said[0]
