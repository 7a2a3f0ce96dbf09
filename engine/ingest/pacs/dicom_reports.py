"""Report text from the DICOM objects a PACS keeps reports in: Structured Reports and encapsulated documents.

A hospital's reports reach the PACS as a DICOM SR (Basic Text / Enhanced / Comprehensive SR:
the text lives in TEXT content items, under headings such as "Findings" and "Impression") or as
an Encapsulated Document (PS3.3 A.45: ``MIMETypeOfEncapsulatedDocument`` ``text/plain``, or PDF /
CDA). The text becomes the study's report through the ordinary report import (same provenance:
sha256 of the text; a changed text makes old labels stale), keyed like the study's volumes:
AccessionNumber, else StudyInstanceUID.

A PDF report needs a PDF text extractor radcurate does not ship; it is refused with that reason
(the CSV keyed by AccessionNumber remains the way in).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from radcurate.engine.errors import InputError
from radcurate.engine.files import atomic

TEXT_MIME_TYPES = ("text/plain", "text/markdown")
VERIFIED_FIRST = {"VERIFIED": 0, "UNVERIFIED": 1}


@dataclass(frozen=True)
class DicomReport:
    """One report found in a DICOM object, with what decides which of a study's reports counts."""

    study_id: str
    text: str
    path: str
    verified: bool
    when: str  # ContentDate + ContentTime, for "latest wins"


def _heading(item: Dataset) -> str:
    names = item.get("ConceptNameCodeSequence") or []
    return str(names[0].get("CodeMeaning", "")).strip() if names else ""


def _sr_lines(items: Iterable[Dataset], depth: int = 0) -> list[str]:
    lines: list[str] = []
    for item in items:
        kind = str(item.get("ValueType", ""))
        heading = _heading(item)
        if kind == "TEXT":
            text = str(item.get("TextValue", "")).strip()
            if text:
                lines.append(f"{heading.upper()}: {text}" if heading and depth <= 1 else text)
        elif kind == "CONTAINER":
            inner = _sr_lines(item.get("ContentSequence") or [], depth + 1)
            if inner and heading and depth >= 1:
                lines.append(f"{heading.upper()}:")
            lines.extend(inner)
        elif kind == "CODE" and item.get("ConceptCodeSequence"):
            meaning = str(item.ConceptCodeSequence[0].get("CodeMeaning", "")).strip()
            if meaning:
                lines.append(f"{heading}: {meaning}" if heading else meaning)
    return lines


def _document_text(ds: Dataset, path: Path) -> str:
    mime = str(ds.get("MIMETypeOfEncapsulatedDocument", "")).lower()
    if mime not in TEXT_MIME_TYPES:
        raise InputError(
            f"the report is an encapsulated {mime or 'document of unknown type'}; radcurate reads text reports "
            "from DICOM SR and text/plain documents: import this study's report from a CSV keyed by AccessionNumber",
            path=path,
            field="MIMETypeOfEncapsulatedDocument",
        )
    data = bytes(ds.get("EncapsulatedDocument", b"")).rstrip(b"\x00 ")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def study_id_of(ds: Dataset) -> str:
    """The study key the DICOM loader gives the same study's volumes."""
    return str(ds.get("AccessionNumber", "") or "").strip() or str(ds.get("StudyInstanceUID", "") or "").strip()


def read_report(path: Path) -> DicomReport:
    """The report text of one SR or encapsulated-document file; InputError naming the file otherwise."""
    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:
        raise InputError(f"not a readable DICOM file ({type(exc).__name__}: {exc})", path=path) from None
    modality = str(ds.get("Modality", ""))
    if "EncapsulatedDocument" in ds:
        text = _document_text(ds, path)
    elif modality == "SR" or "ContentSequence" in ds:
        text = "\n".join(_sr_lines(ds.get("ContentSequence") or []))
    else:
        raise InputError(f"a {modality or 'DICOM'} object is not a report", path=path, field="Modality")
    if not text.strip():
        raise InputError("the report holds no text", path=path, field="ContentSequence")
    study_id = study_id_of(ds)
    if not study_id:
        raise InputError("the report names no study", path=path, field="AccessionNumber")
    return DicomReport(
        study_id=study_id,
        text=text.strip() + "\n",
        path=str(path),
        verified=str(ds.get("VerificationFlag", "")).upper() == "VERIFIED",
        when=str(ds.get("ContentDate", "")) + str(ds.get("ContentTime", "")),
    )


def choose(reports: Iterable[DicomReport]) -> dict[str, DicomReport]:
    """One report per study: a verified one before an unverified one, then the latest content time."""
    best: dict[str, DicomReport] = {}
    for report in reports:
        held = best.get(report.study_id)
        if held is None or (report.verified, report.when) > (held.verified, held.when):
            best[report.study_id] = report
    return best


def write_jsonl(reports: Iterable[DicomReport], path: Path) -> Path:
    """The reports as a JSONL report table (``study_id``, ``report_text``) for the ordinary report import."""
    lines = [json.dumps({"study_id": r.study_id, "report_text": r.text}, ensure_ascii=False) for r in reports]
    atomic.write_text(path, "\n".join(lines) + "\n")
    return path
