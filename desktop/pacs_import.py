"""File ▸ Import from PACS…: fill the worklist from a PACS query without leaving the review app.

The dialog asks for the PACS address and which studies, checks them with the engine's own rules
(the URL form, DICOM keywords in the query) and starts the engine's PACS import as a background
job (``Project.start_pacs_import``: a detached ``radcurate pacs-import`` subprocess), so the UI
never waits on the network; the jobs dock shows its progress and can cancel it, and new studies
enter the worklist as their series are imported. Credentials are never typed here: the job reads
``RADCURATE_PACS_USER`` / ``RADCURATE_PACS_PASSWORD`` (or ``RADCURATE_PACS_TOKEN``, or a netrc file)
from the environment the app was started in (docs/pacs.md).

Wiring (desktop/app.py): ``add_menu_action(qt_window, lambda: session.project)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from radcurate.engine.errors import RadcurateError
from radcurate.engine.ingest.pacs.address import parse
from radcurate.engine.ingest.pacs.remote_import import parse_query

MENU_TEXT = "Import from PACS…"


class ImportFromPacsDialog(QDialog):
    """URL + query (or study UIDs) → a queued PACS import job; errors stay in the dialog, in one line."""

    def __init__(self, project: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.job: Any = None
        self.setWindowTitle("Import from PACS")
        self.url = QLineEdit()
        self.url.setPlaceholderText("dicomweb+https://pacs.example.org/dicom-web  or  dimse://PACS@10.0.0.5:104")
        self.query = QLineEdit()
        self.query.setPlaceholderText("ModalitiesInStudy=CT&StudyDate=20240101-20240131")
        self.studies = QLineEdit()
        self.studies.setPlaceholderText("StudyInstanceUIDs, separated by spaces (optional)")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e06c6c")
        note = QLabel("Credentials come from the environment (RADCURATE_PACS_USER, RADCURATE_PACS_PASSWORD).")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("PACS", self.url)
        form.addRow("Query", self.query)
        form.addRow("Studies", self.studies)
        form.addRow(note)
        form.addRow(self.problem)
        form.addRow(buttons)

    def start(self) -> None:
        """Check the inputs, start the job, close; a problem is shown in the dialog instead."""
        url, query = self.url.text().strip(), self.query.text().strip() or None
        studies = self.studies.text().replace(",", " ").split()
        try:
            parse(url)
            parse_query(query)
            if not studies and not query:
                raise RadcurateError("say which studies: a query or StudyInstanceUIDs (never the whole PACS)")
            self.job = self.project.start_pacs_import(url, studies=studies, query=query)
        except RadcurateError as exc:
            self.problem.setText(str(exc))
            return
        self.accept()


def add_menu_action(qt_window: Any, project: Callable[[], Any]) -> Any:
    """Add File ▸ Import from PACS… to a napari main window (its ``file_menu``, else the menu bar's
    first menu); ``project`` returns the open project when the action fires. Returns the QAction."""
    menu = getattr(qt_window, "file_menu", None)
    if menu is None:
        menu = qt_window._qt_window.menuBar().actions()[0].menu()

    def open_dialog() -> None:
        ImportFromPacsDialog(project(), parent=getattr(qt_window, "_qt_window", None)).exec_()

    action = menu.addAction(MENU_TEXT)
    action.triggered.connect(open_dialog)
    return action
