"""The jobs dock: long work (extraction, training, export, scoring) with progress, and cancel.

Jobs run as subprocesses recorded in the store (engine/jobs.py); this dock only reads them through
``Project.jobs()`` — in a napari ``thread_worker``, once a second, so a slow disk never freezes
the review — and asks ``Project.cancel_job(id)`` to stop one (cooperative: the job stops at its
next safe point). Retraining from the app needs torch (the ``[train]`` extra); where it is missing
(a core install, or the desktop bundle, which ships without torch) the button stays disabled and
its tooltip says where training can run instead.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from radcurate.engine.project import Project

COLUMNS = ("job", "kind", "status", "progress", "message")
POLL_MS = 1000


def training_available() -> tuple[bool, str]:
    """Whether the app can start a retrain, and the reason when it cannot (shown as a tooltip)."""
    if importlib.util.find_spec("radcurate.engine.training") is None:
        return False, "Retraining arrives with the training capability (radcurate train); not in this version yet."
    if importlib.util.find_spec("torch") is None:
        if getattr(sys, "frozen", False):  # the PyInstaller bundle: pip cannot add torch to it
            return False, (
                "This desktop bundle has no torch, so it cannot train. Train where radcurate[train] is "
                "installed (radcurate train DIR); the app shows the new model's scores when it is registered."
            )
        return False, "Retraining needs the training extra: pip install 'radcurate[train]'."
    return True, "Retrain the supervised model on silver + your gold labels (runs as a job)."


class JobsWidget(QWidget):
    """Job list with progress bars; Cancel for the selected running job; Retrain when possible."""

    def __init__(self, project: Project, parent: QWidget | None = None, *, poll: bool = True):
        super().__init__(parent)
        self.project = project
        self.jobs: list[Any] = []
        self._worker: Any = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            fit = column == len(COLUMNS) - 1
            header.setSectionResizeMode(
                column, QHeaderView.ResizeMode.Stretch if fit else QHeaderView.ResizeMode.ResizeToContents
            )
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.retrain = QPushButton("Retrain model")
        self.retrain.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.retrain.clicked.connect(self._start_retrain)
        self.cancel = QPushButton("Cancel job")
        self.cancel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel.clicked.connect(self._cancel_selected)
        self.status = QLabel("no jobs yet")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retrain)
        buttons.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        can_train, why = training_available()
        self.retrain.setEnabled(can_train)
        self.retrain.setToolTip(why)
        self._update_buttons()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        if poll:
            self.timer.start()
            self.poll()

    # ------------------------------------------------------------------ reading (off the UI thread)
    def poll(self) -> None:
        """Read the job list in a worker thread; the table updates when it returns."""
        if self._worker is not None:
            return
        from napari.qt.threading import create_worker

        self._worker = create_worker(self.project.jobs, _start_thread=False)
        self._worker.returned.connect(self.show_jobs)
        self._worker.errored.connect(lambda exc: self.status.setText(f"cannot read jobs: {exc}"))
        self._worker.finished.connect(self._poll_done)
        self._worker.start()

    def _poll_done(self) -> None:
        self._worker = None

    def stop(self) -> None:
        """Stop polling; safe after Qt deleted the dock (the window closed first)."""
        try:
            self.timer.stop()
        except RuntimeError:  # the QTimer went with its deleted parent
            pass
        if self._worker is not None:
            self._worker.quit()
            self._worker = None

    def show_jobs(self, jobs: list[Any]) -> None:
        self.jobs = list(jobs)
        selected = self.selected_job()
        self.table.setRowCount(len(self.jobs))
        for row, job in enumerate(self.jobs):
            self.table.setItem(row, 0, QTableWidgetItem(f"#{job.id}"))
            self.table.setItem(row, 1, QTableWidgetItem(job.kind))
            status = job.status + (" (cancelling)" if job.cancel_requested and not job.finished else "")
            self.table.setItem(row, 2, QTableWidgetItem(status))
            self.table.setCellWidget(row, 3, self._progress(job))
            self.table.setItem(row, 4, QTableWidgetItem(job.error or job.message or ""))
            if selected is not None and job.id == selected.id:
                self.table.selectRow(row)
        running = sum(not j.finished for j in self.jobs)
        self.status.setText(f"{len(self.jobs)} jobs · {running} running" if self.jobs else "no jobs yet")
        self._update_buttons()

    @staticmethod
    def _progress(job: Any) -> QProgressBar:
        bar = QProgressBar()
        if job.total:
            bar.setRange(0, int(job.total))
            bar.setValue(min(int(job.progress), int(job.total)))
            bar.setFormat(f"{job.progress}/{job.total}")
        elif job.finished:
            bar.setRange(0, 1)
            bar.setValue(1)
        else:
            bar.setRange(0, 0)  # busy indicator while the total is unknown
        return bar

    # ------------------------------------------------------------------ actions
    def selected_job(self) -> Any:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.jobs):
            return None
        return self.jobs[rows[0].row()]

    def _update_buttons(self) -> None:
        job = self.selected_job()
        can_cancel = job is not None and not job.finished and not job.cancel_requested
        self.cancel.setEnabled(can_cancel)
        self.cancel.setToolTip(
            "Ask the selected job to stop at its next safe point" if can_cancel else "Select a running job to cancel it"
        )

    def _cancel_selected(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        self.project.cancel_job(job.id)
        self.status.setText(f"cancel requested for job #{job.id}")
        self.poll()

    def _start_retrain(self) -> None:
        job = self.project.start_job("train", {"kind": "supervised"})
        self.status.setText(f"started job #{job.id} (train)")
        self.poll()
