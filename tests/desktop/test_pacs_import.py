"""File ▸ Import from PACS…: the dialog checks what it is given and starts the engine's PACS import job.

The job itself (a detached ``radcurate pacs-import`` against a real Orthanc) is tested in
tests/plugins/pacs/test_pacs_job.py; here the project records what the dialog asks of it.
"""

from __future__ import annotations

from radcurate.desktop.pacs_import import ImportFromPacsDialog


class RecordingProject:
    def __init__(self) -> None:
        self.started: list[tuple[str, list[str], str | None]] = []

    def start_pacs_import(self, url: str, *, studies: list[str], query: str | None) -> str:
        self.started.append((url, studies, query))
        return "job-1"


def test_the_dialog_refuses_bad_input_in_one_line_and_starts_a_job_for_good_input(qtbot) -> None:  # noqa: ANN001
    project = RecordingProject()
    dialog = ImportFromPacsDialog(project)
    qtbot.addWidget(dialog)
    dialog.url.setText("https://pacs.example.org/dicom-web")
    dialog.query.setText("ModalitiesInStudy=CT")
    dialog.start()
    assert "not a PACS URL" in dialog.problem.text() and not project.started
    dialog.url.setText("dicomweb+https://pacs.example.org/dicom-web")
    dialog.query.setText("Modality_In_Study=CT")
    dialog.start()
    assert "not a DICOM keyword" in dialog.problem.text() and not project.started
    dialog.query.setText("")
    dialog.start()
    assert "never the whole PACS" in dialog.problem.text() and not project.started
    dialog.url.setText("dimse://PACS@10.0.0.5:104")
    dialog.studies.setText("1.2.3, 1.2.4")
    dialog.start()
    assert project.started == [("dimse://PACS@10.0.0.5:104", ["1.2.3", "1.2.4"], None)] and dialog.job == "job-1"
