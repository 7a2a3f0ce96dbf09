"""``radcurate review DIR``: the napari viewer with the review docks, keys and the case volume.

:class:`ReviewApp` wires the Qt-free :class:`~radcurate.desktop.session.ReviewSession` to a napari
viewer: docks (worklist, report, findings, triage, jobs), the key map, the CT layer and the
prefetcher. :func:`launch` is what the command line calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from radcurate.desktop.session import ReviewSession, SessionEvent
from radcurate.desktop.viewer.canvas import DisplayVolume, VolumeView
from radcurate.desktop.viewer.keys import KeyBinder, finding_keys, make_help_overlay, review_keymap
from radcurate.desktop.viewer.prefetch import LoadFailure, VolumePrefetcher
from radcurate.desktop.viewer.presets import BONE, LUNG, MEDIASTINUM, preset_for_finding
from radcurate.desktop.widgets.findings import FindingsWidget
from radcurate.desktop.widgets.jobs import JobsWidget
from radcurate.desktop.widgets.report import ReportWidget
from radcurate.desktop.widgets.triage import TriageWidget
from radcurate.desktop.widgets.worklist import WorklistWidget
from radcurate.engine.errors import RadcurateError
from radcurate.engine.project import Project
from radcurate.engine.vocabulary import LabelState


class ReviewApp:
    """The review app inside one napari viewer.

    Parameters
    ----------
    viewer
        The napari viewer to fill (the app's own, or the user's when run as a napari plugin).
    project
        The open project (the only thing the app talks to).
    reader
        Stamped on every decision.
    show_volumes
        False runs without the image layer (headless tests under ``QT_QPA_PLATFORM=offscreen``,
        where napari cannot draw one); every key still goes through the same handlers.
    saved_log
        A file that gets ``saved #<id> …`` appended (unbuffered) right after each commit returns:
        the crash test's record of what the UI showed as saved.
    poll_jobs
        Poll the job list once a second (off in tests that do not look at jobs).
    own_window
        The viewer is the app's own: hide napari's layer list and controls (a reader needs no layer
        editor). False when running as a plugin in a napari window the user already works in.
    """

    def __init__(
        self,
        viewer: Any,
        project: Project,
        reader: str,
        *,
        show_volumes: bool = True,
        saved_log: str | Path | None = None,
        poll_jobs: bool = True,
        prefetcher: VolumePrefetcher | None = None,
        own_window: bool = True,
    ):
        self.viewer = viewer
        self.project = project
        self.session = ReviewSession(project, reader)
        self.volume_view = VolumeView(viewer) if show_volumes else None
        self.prefetcher = prefetcher or VolumePrefetcher(project)
        self.auto_window = True
        self.shown_study: str | None = None  # the study whose volume is on screen
        self._opened_at: tuple[str | None, int] = (None, -1)
        self._log_fd = os.open(saved_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if saved_log else None
        self.worklist = WorklistWidget(self.session)
        self.report = ReportWidget(self.session)
        self.findings = FindingsWidget(self.session, letters=finding_keys(list(project.vocabulary)))
        self.triage = TriageWidget(self.session)
        self.jobs = JobsWidget(project, poll=poll_jobs)
        self._add_docks(own_window)
        self.worklist.filter.activated.connect(lambda _index: self.focus_canvas())
        self.worklist.table.clicked.connect(lambda _index: self.focus_canvas())
        self.findings.table.clicked.connect(lambda _index: self.focus_canvas())
        findings = list(project.vocabulary)
        self.help = make_help_overlay(viewer.window._qt_window, findings)
        self.keys = KeyBinder(self._handlers(), review_keymap(findings))
        self.keys.bind(viewer)
        self._unsubscribe = self.session.subscribe(self._on_session)

    # ------------------------------------------------------------------ layout
    def _add_docks(self, own_window: bool) -> None:
        from qtpy.QtCore import Qt, QTimer

        window = self.viewer.window
        qt_window = window._qt_window
        worklist = window.add_dock_widget(self.worklist, name="Worklist", area="left")
        findings = window.add_dock_widget(self.findings, name="Findings", area="right")
        report = window.add_dock_widget(self.report, name="Report", area="right")
        triage = window.add_dock_widget(self.triage, name="Triage", area="right")
        jobs = window.add_dock_widget(self.jobs, name="Jobs", area="right")
        self.docks = [worklist, findings, report, triage, jobs]
        qt_window.tabifyDockWidget(triage, jobs)
        triage.raise_()
        for name in ("dockLayerList", "dockLayerControls") if own_window else ():
            dock = getattr(window._qt_viewer, name, None)
            if dock is not None:
                dock.setVisible(False)

        def sizes() -> None:  # after the window has laid itself out
            qt_window.resizeDocks([worklist, findings], [300, 470], Qt.Orientation.Horizontal)
            qt_window.resizeDocks([findings, report, triage], [440, 300, 170], Qt.Orientation.Vertical)

        sizes()
        QTimer.singleShot(0, sizes)

    # ------------------------------------------------------------------ start / stop
    def start(self, study_id: str | None = None) -> None:
        """Load the worklist and open ``study_id`` or the first case the reader has not finished."""
        entries = self.session.refresh_worklist()
        if study_id is None:
            open_ = [e for e in entries if e.status != "done"]
            study_id = (open_ or entries)[0].study_id if entries else None
        if study_id is None:
            self.say("this project has no studies yet: radcurate import DIR PATHS")
            return
        self.session.open_case(study_id)
        self.focus_canvas()

    def focus_canvas(self) -> None:
        """Keys go to the image canvas (where they are bound); docks hand focus back after use."""
        self.viewer.window._qt_viewer.canvas.native.setFocus()

    def close(self, *, remove_docks: bool = False) -> None:
        """Unbind the keys and stop background work; ``remove_docks`` also takes the docks away
        (the plugin, restarting a review in the user's viewer). The viewer stays the caller's."""
        self.keys.unbind()
        self._unsubscribe()
        if self.volume_view is not None:
            self.volume_view.uninstall()
        self.jobs.stop()
        self.prefetcher.clear()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        for dock in self.docks if remove_docks else ():
            self.viewer.window.remove_dock_widget(dock)

    # ------------------------------------------------------------------ keys
    def _handlers(self) -> dict[str, Callable[[], Any]]:
        s = self.session

        def decide(state: LabelState) -> Callable[[], Any]:
            return lambda: s.decide(state)

        def image(fn: Callable[[VolumeView], Any]) -> Callable[[], Any]:
            return lambda: fn(self.volume_view) if self.volume_view is not None else None

        handlers: dict[str, Callable[[], Any]] = {
            "confirm_case": s.confirm_case,
            "present": decide(LabelState.PRESENT),
            "absent": decide(LabelState.ABSENT),
            "uncertain": decide(LabelState.UNCERTAIN),
            "not_mentioned": decide(LabelState.NOT_MENTIONED),
            "undo": s.undo,
            "next_finding": lambda: s.move(+1),
            "previous_finding": lambda: s.move(-1),
            "first_finding": lambda: s.select(0),
            "last_finding": lambda: s.select(len(s.rows) - 1),
            "next_case": s.next_case,
            "previous_case": s.previous_case,
            "lung_window": image(lambda v: v.set_window(LUNG)),
            "mediastinum_window": image(lambda v: v.set_window(MEDIASTINUM)),
            "bone_window": image(lambda v: v.set_window(BONE)),
            "finding_window": self.apply_finding_window,
            "narrower_window": image(lambda v: v.nudge_window(width_factor=1 / 1.2)),
            "wider_window": image(lambda v: v.nudge_window(width_factor=1.2)),
            "lower_level": image(lambda v: v.nudge_window(level_shift=-v.window.width * 0.05)),
            "higher_level": image(lambda v: v.nudge_window(level_shift=v.window.width * 0.05)),
            "axial": image(lambda v: v.set_view("axial")),
            "coronal": image(lambda v: v.set_view("coronal")),
            "sagittal": image(lambda v: v.set_view("sagittal")),
            "next_slice": image(lambda v: v.step_slice(+1)),
            "previous_slice": image(lambda v: v.step_slice(-1)),
            "reset_view": image(lambda v: v.set_view(v.view)),
            "help": self.toggle_help,
        }
        for finding in self.project.vocabulary:
            handlers[f"select:{finding}"] = lambda f=finding: s.select_finding(f)
        return {name: self._guarded(fn) for name, fn in handlers.items()}

    def _guarded(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """A key never crashes the app; an engine error is shown and nothing is marked saved."""

        def run() -> Any:
            try:
                return fn()
            except RadcurateError as exc:
                self.say(f"NOT SAVED — {exc}")
                return None

        return run

    def apply_finding_window(self) -> None:
        row = self.session.selected_row
        preset = preset_for_finding(row.finding) if row is not None else None
        if preset is not None and self.volume_view is not None:
            self.volume_view.set_window(preset)

    def toggle_help(self) -> None:
        if self.help.isVisible():
            self.help.hide()
            return
        parent = self.help.parentWidget()
        self.help.adjustSize()
        self.help.move(
            max(0, (parent.width() - self.help.width()) // 2), max(0, (parent.height() - self.help.height()) // 2)
        )
        self.help.raise_()
        self.help.show()

    # ------------------------------------------------------------------ session events
    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "case":
            self._opened_at = (self.session.study_id, self.session.selected)
            self._show_volume()
        elif event.kind == "selection":
            if self.auto_window and (self.session.study_id, self.session.selected) != self._opened_at:
                self.apply_finding_window()
            self._opened_at = (None, -1)
        elif event.kind == "saved":
            self._log_saved(event)
            self.say(event.message)
        elif event.kind == "message":
            self.say(event.message)

    def _log_saved(self, event: SessionEvent) -> None:
        if self._log_fd is None:
            return
        lines = "".join(
            f"saved #{d.id} {d.study_id} {d.finding} {d.state.value if d.state else 'undecided'}\n"
            for d in event.decisions
        )
        os.write(self._log_fd, lines.encode("utf-8"))

    def say(self, message: str) -> None:
        self.viewer.status = message

    # ------------------------------------------------------------------ volumes
    def _show_volume(self) -> None:
        study = self.session.study_id
        if self.volume_view is None or study is None:
            return
        self.prefetcher.get(study, lambda result, sid=study: self._volume_ready(sid, result))

    def _volume_ready(self, study_id: str, result: DisplayVolume | None | LoadFailure) -> None:
        if study_id != self.session.study_id or self.volume_view is None:
            return  # the reader has moved on; the volume stays cached
        if isinstance(result, LoadFailure):
            self.volume_view.clear()
            self.say(f"volume unavailable for {study_id}: {result}")
        elif result is None:
            self.volume_view.clear()
        else:
            self.volume_view.show(result, window=LUNG)
            self.keys.bind(self.volume_view.layer)  # the active layer's keymap is asked first
        self.shown_study = study_id
        self.prefetcher.prefetch(self.session.upcoming_study())


def qt_binding_problem() -> str | None:
    """Why the installed Qt binding cannot run the app, or None.

    PySide6 6.12.0 on CPython < 3.12 drops a reference to ``None`` (and ``True``/``False``) on every
    call of a method that returns them; after a few thousand calls (minutes of use) the
    interpreter aborts with ``none_dealloc``. 3.12+ makes those objects immortal, so it is safe there.
    """
    import sys

    import qtpy

    version = getattr(qtpy, "PYSIDE_VERSION", None) if qtpy.API_NAME == "PySide6" else None
    if version and version.startswith("6.12.0") and sys.version_info < (3, 12):
        return (
            f"PySide6 {version} crashes on Python {sys.version_info.major}.{sys.version_info.minor} "
            "(a reference-count bug); install another version: pip install 'PySide6!=6.12.0'"
        )
    return None


def ask_reader(parent: Any = None) -> str | None:
    """Ask the reader's name once per session (stamped on every decision)."""
    from qtpy.QtWidgets import QInputDialog

    name, ok = QInputDialog.getText(
        parent, "radcurate review", "Your name (stamped on every decision):", text=os.environ.get("USER", "")
    )
    name = name.strip()
    return name if ok and name else None


def launch(
    directory: str | Path,
    *,
    reader: str | None = None,
    saved_log: str | Path | None = None,
    keys_from_stdin: bool = False,
    show_volumes: bool = True,
    study: str | None = None,
) -> int:
    """Open the review app on a project folder and run until the window closes; returns an exit code."""
    problem = qt_binding_problem()
    if problem:
        raise RadcurateError(problem)
    import napari

    project = Project.open(directory)
    viewer = napari.Viewer(title=f"radcurate review — {project.path.name}")
    reader = reader or ask_reader(viewer.window._qt_window)
    if not reader:
        viewer.close()
        return 1
    app = ReviewApp(viewer, project, reader, show_volumes=show_volumes, saved_log=saved_log)
    viewer.title = f"radcurate review — {project.path.name} — {reader}"
    app.start(study)
    driver = None
    if keys_from_stdin:
        from radcurate.desktop.driver import StdinKeyDriver

        driver = StdinKeyDriver(app)
        driver.start()
    napari.run()
    app.close()
    project.close()
    return 0
