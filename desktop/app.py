"""``radcurate review DIR``: the napari viewer with the review docks, keys and the case volume.

:class:`ReviewApp` wires the Qt-free :class:`~radcurate.desktop.session.ReviewSession` to a napari
viewer: docks (worklist, report, findings, triage, jobs), the key map, the CT layer and the
prefetcher. :func:`radcurate.desktop.launcher.launch` is what the command line calls.

The image on screen is always the study whose report and findings are shown: when a case opens
(any way: a key, a worklist click, an undo that jumps back) and its volume is not cached, the
previous image is hidden at once, the canvas says "loading <study>", and every decision is
refused with that reason until the case's own volume is on screen (``ReviewSession.blocked``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from radcurate.desktop.case_flags import CaseFlagKeys
from radcurate.desktop.session import ReviewSession, SessionEvent
from radcurate.desktop.viewer.canvas import DisplayVolume, VolumeView
from radcurate.desktop.viewer.focus import KeyRouter
from radcurate.desktop.viewer.keys import WINDOW_KEYS, KeyBinder, finding_keys, make_help_overlay, review_keymap
from radcurate.desktop.viewer.prefetch import LoadFailure, VolumePrefetcher
from radcurate.desktop.viewer.presets import BONE, LUNG, MEDIASTINUM, preset_for_finding
from radcurate.desktop.widgets.findings import FindingsWidget
from radcurate.desktop.widgets.jobs import JobsWidget
from radcurate.desktop.widgets.report import ReportWidget
from radcurate.desktop.widgets.series import SeriesPicker
from radcurate.desktop.widgets.triage import TriageWidget
from radcurate.desktop.widgets.worklist import WorklistWidget
from radcurate.desktop.window import CloseWatch, DockSizes, quiet_menu_shortcuts, restore_menu_shortcuts, tabify
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
        viewer = getattr(viewer, "__wrapped__", viewer)  # a plugin widget gets napari's PublicOnlyProxy:
        self.viewer = viewer  # Qt refuses the proxied docks it hands back (resizeDocks, tabifyDockWidget)
        self.project = project
        self.session = ReviewSession(project, reader)
        self.volume_view = VolumeView(viewer) if show_volumes else None
        self.prefetcher = prefetcher or VolumePrefetcher(project)
        self.auto_window = True
        self.shown_study: str | None = None  # the study whose volume is on screen (or known to have none)
        self.session.blocked = self.loading_reason
        self.flags = CaseFlagKeys(self.session)
        self._closed = False
        self._opened_at: tuple[str | None, int] = (None, -1)
        self._log_fd = os.open(saved_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if saved_log else None
        self.worklist = WorklistWidget(self.session)
        self.report = ReportWidget(self.session)
        self.findings = FindingsWidget(self.session, letters=finding_keys(list(project.vocabulary)))
        self.triage = TriageWidget(self.session)
        self.series = SeriesPicker(self.session, self.show_series)
        self.report.layout().insertWidget(1, self.series)
        self.linked = None
        if self.volume_view is not None:
            from radcurate.desktop.viewer.linked import LinkedViews

            self.linked = LinkedViews(self.volume_view)
            self.volume_view.listeners.append(self.linked.refresh_soon)
            self.volume_view.on_crosshair = self.linked.set_world_point
        self.jobs = JobsWidget(project, poll=poll_jobs)
        self._add_docks(own_window)
        from radcurate.desktop.napari_plugin import prefer_radcurate_reader

        prefer_radcurate_reader()  # File ▸ Open on a .nii.gz or a DICOM folder
        if own_window:  # File ▸ Import from PACS… (a background job, shown in the Jobs dock)
            from radcurate.desktop.pacs_import import add_menu_action

            add_menu_action(viewer.window, lambda: project)
        self.worklist.filter.activated.connect(lambda _index: self.focus_canvas())
        self.worklist.table.clicked.connect(lambda _index: self.focus_canvas())
        self.findings.table.clicked.connect(lambda _index: self.focus_canvas())
        self.findings.note.returnPressed.connect(self._save_note)
        findings = list(project.vocabulary)
        qt_window = viewer.window._qt_window
        self.help = make_help_overlay(qt_window, findings)
        self.keys = KeyBinder(self._handlers(), review_keymap(findings))
        self.keys.bind(viewer)
        self._unsubscribe = self.session.subscribe(self._on_session)
        self.router = KeyRouter(qt_window, viewer.window._qt_viewer.canvas.native, self.escape)
        self._close_watch = CloseWatch(qt_window, self.close)
        self._menu_shortcuts = quiet_menu_shortcuts(qt_window, {key for key, _ in WINDOW_KEYS})
        self._own_window = own_window
        if own_window:
            viewer.window._qt_viewer.dims.setVisible(False)  # napari's slider counts feet to head

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
        if self.linked is not None:
            views = window.add_dock_widget(self.linked, name="Views", area="left")
            self.docks.append(views)
        tabify(qt_window, triage, jobs)
        triage.raise_()
        for name in ("dockLayerList", "dockLayerControls") if own_window else ():
            dock = getattr(window._qt_viewer, name, None)
            if dock is not None:
                dock.setVisible(False)

        def sizes() -> None:  # after the window has laid itself out
            qt_window.resizeDocks([worklist, findings], [300, 470], Qt.Orientation.Horizontal)
            qt_window.resizeDocks([findings, report, triage], [470, 290, 150], Qt.Orientation.Vertical)
            if len(self.docks) > 5:  # the linked views under the worklist
                qt_window.resizeDocks([worklist, self.docks[5]], [520, 380], Qt.Orientation.Vertical)

        sizes()
        QTimer.singleShot(0, sizes)
        self.dock_sizes = DockSizes(qt_window, self.docks)

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

    def escape(self) -> None:
        """Escape, from anywhere in the window: close the help and the note field, focus the image."""
        self.help.hide()
        self.findings.close_note()
        self.focus_canvas()

    @property
    def loading(self) -> bool:
        """The case shown in the docks is not the image on the canvas (yet)."""
        return (
            self.volume_view is not None
            and self.session.study_id is not None
            and (self.shown_study != self.session.study_id)
        )

    def loading_reason(self) -> str | None:
        """Why a decision must wait now (the session asks before each one), or None."""
        if not self.loading:
            return None
        return f"the image of {self.session.study_id} is still loading; decide once it is on screen"

    def close(self, *, remove_docks: bool = False) -> None:
        """Unbind the keys and stop background work; ``remove_docks`` also takes the docks away
        (the plugin, restarting a review in the user's viewer). The viewer stays the caller's.
        Runs once: closing the window calls it before Qt deletes the docks, and so may the caller."""
        if self._closed:
            return
        self._closed = True
        self._close_watch.remove()
        self.dock_sizes.remove()
        restore_menu_shortcuts(self._menu_shortcuts)
        self.router.remove()
        self.keys.unbind()
        self._unsubscribe()
        if self.volume_view is not None:
            self.volume_view.uninstall()
        if self.linked is not None:
            self.linked.crosshair.remove()
        self.flags.remove()
        self.jobs.stop()
        self.prefetcher.clear()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        if self._own_window is False:
            try:
                self.viewer.window._qt_viewer.dims.setVisible(True)
            except RuntimeError:
                pass
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
            "not_mentioned_rest": s.not_mentioned_rest,
            "note": self.open_note,
            "skip_case": self.flags.skip,
            "flag_case": self.flags.toggle,
            "next_finding": lambda: s.move(+1),
            "previous_finding": lambda: s.move(-1),
            "first_finding": lambda: s.select(0),
            "last_finding": lambda: s.select(len(s.rows) - 1),
            "next_case": s.next_case,
            "previous_case": s.previous_case,
            "lung_window": image(lambda v: v.set_window(LUNG, by_hand=True)),
            "mediastinum_window": image(lambda v: v.set_window(MEDIASTINUM, by_hand=True)),
            "bone_window": image(lambda v: v.set_window(BONE, by_hand=True)),
            "finding_window": self.follow_finding_window,
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
            "clear_measurements": self.clear_measurements,
            "help": self.toggle_help,
            "focus_canvas": self.escape,
        }
        for finding in self.project.vocabulary:
            handlers[f"select:{finding}"] = lambda f=finding: s.select_finding(f)
        return {name: self._guarded(fn) for name, fn in handlers.items()}

    def _guarded(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """A key never crashes the app; an engine error is shown and nothing is marked saved."""

        def run() -> Any:
            if self.volume_view is not None:
                self.volume_view.message = ""  # a message stays until the next action
            try:
                return fn()
            except RadcurateError as exc:
                self.say(f"NOT SAVED — {exc}")
                return None

        return run

    def apply_finding_window(self) -> None:
        """The selected finding's window, unless the reader set one by hand (theirs stays)."""
        row = self.session.selected_row
        preset = preset_for_finding(row.finding) if row is not None else None
        view = self.volume_view
        if preset is not None and view is not None and view.hand_window is None:
            view.set_window(preset)

    def follow_finding_window(self) -> None:
        """Key 0: drop the hand-set window; the selected finding's window applies again."""
        if self.volume_view is not None:
            self.volume_view.follow_findings()
        self.apply_finding_window()

    def clear_measurements(self) -> None:
        if self.volume_view is not None:
            self.volume_view.clear_measurements()

    def open_note(self) -> None:
        row = self.session.selected_row
        if row is not None:
            self.findings.open_note(row.finding)

    def _save_note(self) -> None:
        """Enter in the note field: save it with the decision; back to the image after this key."""
        from qtpy.QtCore import QTimer

        text = self.findings.note.text()
        self._guarded(lambda: self.session.note(text))()
        QTimer.singleShot(0, self.escape)  # after this key: it ends in the field (desktop/viewer/focus.py)

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
        elif event.kind == "flag":
            self.findings.show_flag(self.flags.flagged, self.flags.note)

    def _log_saved(self, event: SessionEvent) -> None:
        if self._log_fd is None:
            return
        lines = "".join(
            f"saved #{d.id} {d.study_id} {d.finding} {d.state.value if d.state else 'undecided'}\n"
            for d in event.decisions
        )
        os.write(self._log_fd, lines.encode("utf-8"))

    def say(self, message: str) -> None:
        """Show a message in the status bar; it stays (beside the HU readout) until the next key."""
        if self.volume_view is not None:
            self.volume_view.message = message
        self.viewer.status = message

    # ------------------------------------------------------------------ volumes
    def _show_volume(self, series_id: str | None = None) -> None:
        """Show the open case's volume: at once if cached, else hide the old one and say "loading"."""
        study = self.session.study_id
        if self.volume_view is None or study is None:
            return
        if not self.prefetcher.cached(study, series_id):
            self.volume_view.show_loading(study)
        self.prefetcher.get(study, lambda result, sid=study: self._volume_ready(sid, result), series_id)

    def show_series(self, series_id: str) -> None:
        """The series picker: show another series of the open case (decisions wait for it)."""
        if self.volume_view is None or series_id == self.session.series_id:
            return
        self.shown_study = None
        self._show_volume(series_id)

    def _volume_ready(self, study_id: str, result: DisplayVolume | None | LoadFailure) -> None:
        if study_id != self.session.study_id or self.volume_view is None or self._closed:
            return  # the reader has moved on; the volume stays cached
        if isinstance(result, LoadFailure):
            self.volume_view.clear(study_id, "image unavailable")
            self.say(f"volume unavailable for {study_id}: {result}")
        elif result is None:
            self.volume_view.clear(study_id)
        else:
            self.volume_view.show(result, window=LUNG)
            self.session.series_id = result.series_id
            self.keys.bind(self.volume_view.layer)  # the active layer's keymap is asked first
        self.shown_study = study_id
        self.series.show_case(self.session.series_id)
        self.prefetcher.prefetch(self.session.upcoming_study())
