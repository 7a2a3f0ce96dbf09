"""Finding the files an import is about: walking folders and sorting out what is not image data.

Policy (``radcurate import --help`` says the same):

* hidden files and folders (``.DS_Store``, ``.git``) are skipped silently: they are never data;
  a ``DICOMDIR`` index goes to the loaders like any file (the DICOM loader reads the export
  through it and reports the files it lists that are missing);
* every other file is offered to the loader plugins first, so a DICOM file is a DICOM file
  whatever its name (real archives have ``CT.1.2.3…`` or no extension at all);
* of the files no loader claims, report tables (CSV/TSV/JSONL with a study id and a report text
  column) are imported as reports, and documentation and side files (``LICENSE``, ``README``,
  ``*.txt``, ``*.md``, ``*.json``, other CSVs such as a cohort's ``truth.csv``…) are *ignored with a
  note*: quarantine is for inputs a user meant to import and must fix, and a licence file next
  to a DICOM series is neither;
* anything else is quarantined as "not a recognised volume format".
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from radcurate.engine.errors import InputError
from radcurate.engine.ingest.reports import is_report_file, sniff_report_table

SKIPPED_NAMES = {"thumbs.db", "desktop.ini"}
DOCUMENT_STEMS = ("license", "licence", "copying", "readme", "notice", "changelog", "authors", "citation", "manifest")
SIDE_FILE_SUFFIXES = {
    ".txt",
    ".md",
    ".rst",
    ".pdf",
    ".html",
    ".htm",
    ".json",
    ".xml",
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".log",
    ".py",
    ".sh",
    ".bat",
    ".ipynb",
    ".doc",
    ".docx",
}


@dataclass(frozen=True)
class IgnoredFile:
    """A file the import passed over on purpose (not an error), with why."""

    path: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def _skipped(name: str) -> bool:
    return name.startswith(".") or name.lower() in SKIPPED_NAMES


def walk(paths: Iterable[str | Path]) -> list[Path]:
    """All candidate files under ``paths`` (files or folders), absolute, sorted, without duplicates.

    Raises :class:`InputError` for a path that does not exist (a typo must not import nothing
    quietly).
    """
    found: dict[str, Path] = {}
    for given in paths:
        root = Path(given).expanduser().absolute()
        if not root.exists():
            raise InputError("no such file or folder", path=root)
        if root.is_file():
            if not _skipped(root.name):
                found.setdefault(str(root), root)
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if not _skipped(name):
                    file = Path(folder, name)
                    found.setdefault(str(file), file)
    return [found[key] for key in sorted(found)]


def is_side_file(path: Path) -> bool:
    """Documentation or side data that sits next to image files (never a volume, never an error)."""
    stem = path.name.lower().split(".")[0]
    return stem.startswith(DOCUMENT_STEMS) or path.suffix.lower() in SIDE_FILE_SUFFIXES


def sort_unclaimed(
    files: Iterable[Path], *, id_column: str | None = None, text_column: str | None = None
) -> tuple[list[Path], list[IgnoredFile], list[Path]]:
    """Split files no loader claimed into (report files, ignored side files, unrecognised files)."""
    reports: list[Path] = []
    ignored: list[IgnoredFile] = []
    unknown: list[Path] = []
    for path in files:
        if is_report_file(path):
            why_not = sniff_report_table(path, id_column=id_column, text_column=text_column)
            if why_not is None:
                reports.append(path)
            else:
                ignored.append(IgnoredFile(str(path), f"table without report columns, not imported ({why_not})"))
        elif is_side_file(path):
            ignored.append(IgnoredFile(str(path), "documentation or side file, not image data"))
        else:
            unknown.append(path)
    return reports, ignored, unknown
