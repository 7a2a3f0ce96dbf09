"""The triage dock: zero-shot scores of the open case from an exported model bundle, and free-text questions.

A bundle is a folder under ``<project>/exports/`` with a ``manifest.json`` (engine/export). With
none, the dock says so plainly and tells the reader how to get one. Scoring runs through the
engine (``Project.triage(study_id, bundle=..., queries=...) -> {label: score}``) in a napari
``thread_worker``; until the engine offers it the dock says the runtime is not available.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from radcurate.desktop.session import ReviewSession, SessionEvent

NO_BUNDLE = (
    "No model bundle yet.\n\nTrain a model (radcurate train) and export it "
    "(radcurate export-onnx DIR MODEL DIR/exports/NAME); zero-shot scores and free-text "
    "questions appear here once a bundle is in the project's exports folder."
)


def find_bundles(project_path: Path) -> list[Path]:
    """Bundle folders in ``exports/`` (those with a manifest.json), newest first."""
    exports = Path(project_path) / "exports"
    if not exports.is_dir():
        return []
    found = [p.parent for p in exports.glob("*/manifest.json")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


class TriageWidget(QWidget):
    """Bundle picker, scores table, question box."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.project = session.project
        self._worker: Any = None
        self._refresh_pending = False
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.bundles = QComboBox()
        self.score_button = QPushButton("Score this case")
        self.score_button.clicked.connect(lambda: self.run_triage(()))
        self.question = QLineEdit()
        self.question.setPlaceholderText("Ask in words, e.g. “There is a pneumothorax.” — Enter to score")
        self.question.returnPressed.connect(self._ask)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(("finding / question", "score"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        top.addWidget(self.bundles, 1)
        top.addWidget(self.score_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.state)
        layout.addLayout(top)
        layout.addWidget(self.question)
        layout.addWidget(self.table, 1)
        session.subscribe(self._on_session)
        self.refresh()

    @property
    def has_bundle(self) -> bool:
        return self.bundles.count() > 0

    def refresh(self) -> None:
        """Look for bundles again and show the matching state."""
        self.bundles.clear()
        for path in find_bundles(self.project.path):
            self.bundles.addItem(path.name, str(path))
        runtime = callable(getattr(self.project, "triage", None))
        for w in (self.bundles, self.score_button, self.question, self.table):
            w.setVisible(self.has_bundle)
        enabled = self.has_bundle and runtime and self.session.study_id is not None
        self.score_button.setEnabled(enabled)
        self.question.setEnabled(enabled)
        if not self.has_bundle:
            self.state.setText(NO_BUNDLE)
        elif not runtime:
            self.state.setText("A model bundle is here, but this radcurate has no triage runtime yet.")
        else:
            self.state.setText(f"{self.bundles.count()} bundle(s); zero-shot scores for {self.session.study_id}")

    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "case":
            self.table.setRowCount(0)  # another case's scores never stay beside this one
            if not self._refresh_pending:  # the bundle folder is looked at after the switch is drawn
                from qtpy.QtCore import QTimer

                self._refresh_pending = True
                QTimer.singleShot(0, self._deferred_refresh)

    def _deferred_refresh(self) -> None:
        self._refresh_pending = False
        try:
            self.refresh()
        except RuntimeError:  # the dock was deleted (window closed) before the timer ran
            pass

    def _ask(self) -> None:
        text = self.question.text().strip()
        if text:
            self.run_triage((text,))

    def run_triage(self, queries: tuple[str, ...]) -> None:
        """Score the open case (and ``queries``) in a worker thread."""
        if self._worker is not None or self.session.study_id is None or not self.has_bundle:
            return
        from napari.qt.threading import create_worker

        bundle = self.bundles.currentData()
        study = self.session.study_id
        self.state.setText(f"scoring {study} with {Path(bundle).name}…")
        self._worker = create_worker(self.project.triage, study, bundle=bundle, queries=queries, _start_thread=False)
        self._worker.returned.connect(self.show_scores)
        self._worker.errored.connect(lambda exc: self.state.setText(f"triage failed: {exc}"))
        self._worker.finished.connect(self._done)
        self._worker.start()

    def _done(self) -> None:
        self._worker = None

    def show_scores(self, scores: dict[str, float]) -> None:
        items = sorted(scores.items(), key=lambda kv: -kv[1])
        self.table.setRowCount(len(items))
        for row, (label, score) in enumerate(items):
            self.table.setItem(row, 0, QTableWidgetItem(label))
            self.table.setItem(row, 1, QTableWidgetItem(f"{score:.2f}"))
        self.state.setText(f"zero-shot scores for {self.session.study_id}")
