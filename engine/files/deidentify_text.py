"""Scrub protected health information from report text: one scrubber for exports and the LLM path.

DESIGN §4 (PHI guard, Curated export): names, dates, IDs and the identifiers found in the study's
own DICOM headers are replaced by bracketed placeholders (``[NAME]``, ``[DATE]``, ``[ID]``,
``[PHONE]``, ``[ADDRESS]``, ``[EMAIL]``, ``[URL]``, ``[AGE 90+]``), so the clinical text — findings,
measurements in mm, segments, vertebral levels, bare years — reads as before.

Two kinds of recogniser:

* **known identifiers** (``identifiers``: the study's patient name parts, patient id, accession
  number, institution, physicians, birth and study dates as found in its DICOM headers) match
  anywhere, case-insensitive, as whole words; a date is matched in its common renderings;
* **patterns** for what no header knows: dates (numeric with separators, ``20240305``, month
  names), phone and fax numbers, e-mail, URLs, US SSNs, street addresses, P.O. boxes and ZIP
  codes, IDs after a cue (``MRN:``, ``Accession #``, ``Patient ID``) and long digit runs
  (≥ 6 digits), names after a title or a field cue (``Dr.``, ``Mrs.``, ``Patient:``,
  ``Signed by``, ``Referring physician:``) or before a credential (``, MD``), ages over 89.

presidio-analyzer was evaluated first (DESIGN asks to): its ``AnalyzerEngine`` cannot start
offline (it fetches spaCy model data and tldextract's suffix list at run time), and its pattern
recognisers alone missed month-name dates and pull in spaCy, so these recognisers are written
out here, each tested. Lives in ``files`` (the bottom layer) because both the extraction stage
(PHI guard) and the export stage (de-identified reports) use it and stages never import each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"  # noqa: E501
_NAME_WORD = r"[A-Z](?:[a-z]|'[A-Z])[a-zA-Z'\-]*"
_NAME = rf"{_NAME_WORD}(?:,?\s+(?:[A-Z]\.\s*)?{_NAME_WORD}){{0,2}}"
_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway"
    r"|Pkwy|Highway|Hwy|Square|Sq|Circle|Cir|Row|Close|Crescent)"
)
_FIELD_CUES = (
    r"patient(?:'s)?(?:\s+name)?|name|referring(?:\s+(?:physician|doctor|clinician))?|physician|radiologist"
    r"|attending|technologist|resident|fellow|consultant|(?:electronically\s+)?signed(?:\s+electronically)?(?:\s+by)?"
    r"|dictated\s+by|reported\s+by|read\s+by|verified\s+by|approved\s+by|transcribed\s+by|cc|contact|mother|father"
    r"|next\s+of\s+kin|guardian"
)
_ID_CUES = (
    r"MRN|MR\s*#|MR\s+no\.?|medical\s+record(?:\s+(?:number|no\.?|#))?|accession(?:\s+(?:number|no\.?|#))?|acc\.?\s*#?"
    r"|patient\s+id|pid|ssn|social\s+security(?:\s+number)?|record\s+(?:number|no\.?|#)|encounter(?:\s+(?:id|#))?"
    r"|visit(?:\s+(?:id|#))?|order(?:\s+(?:number|no\.?|#))|requisition(?:\s+#)?|exam(?:ination)?\s+(?:id|#|no\.?)"
    r"|study\s+id|case\s+(?:id|#|no\.?)|id"
)

#: (kind, compiled pattern, capture group holding the identifier: 0 = the whole match)
PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("EMAIL", re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"), 0),
    ("URL", re.compile(r"(?i:\bhttps?://\S+|\bwww\.\S+)"), 0),
    ("ID", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), 0),  # US SSN
    (
        "PHONE",
        re.compile(
            r"(?:(?<![\w+])\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)\s?|(?<![\w.])\d{3}[\s.\-])\d{3,4}[\s.\-]\d{4}\b"
            r"|(?<![\w+])\+\d{1,3}(?:[\s.\-]\d{2,4}){2,4}\b"
        ),
        0,
    ),
    (
        "PHONE",
        re.compile(r"(?i:\b(?:tel|phone|telephone|fax|pager|cell|mobile|ext)\.?\s*[:#]?\s*)(\+?[\d][\d\s().\-]{3,}\d)"),
        1,
    ),
    ("DATE", re.compile(r"(?<![\w./\-])\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}(?![\w/\-]|\.\d)"), 0),
    ("DATE", re.compile(r"\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b"), 0),
    ("DATE", re.compile(rf"(?i:\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b)"), 0),
    ("DATE", re.compile(rf"(?i:\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+\d{{4}}\b)"), 0),
    ("DATE", re.compile(rf"(?i:\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)\b)"), 0),
    ("DATE", re.compile(rf"\b{_MONTH}\.?,?\s+(?:19|20)\d{{2}}\b"), 0),
    (
        "ADDRESS",
        re.compile(
            rf"\b\d{{1,6}}\s+(?:[A-Z][a-zA-Z]+\.?\s+){{1,4}}{_STREET}\b\.?(?:,?\s+(?:Apt|Suite|Unit|#)\.?\s*\w+)?"
        ),
        0,
    ),
    ("ADDRESS", re.compile(r"(?i:\bP\.?\s?O\.?\s+Box\s+\d+)"), 0),
    ("ADDRESS", re.compile(r"\b[A-Z][a-zA-Z]+(?:\s[A-Z][a-zA-Z]+)?,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"), 0),
    ("ADDRESS", re.compile(r"\b\d{5}-\d{4}\b"), 0),
    (
        "ID",
        re.compile(rf"(?i:\b(?:{_ID_CUES})\s*(?:[:#]|no\.?|number)?\s*[:#]?\s*)([A-Z0-9][A-Z0-9\-/]*\d[A-Z0-9\-/]*)"),
        1,
    ),
    ("ID", re.compile(r"\b[A-Z]{0,4}-?\d{6,}[A-Z]?\b"), 0),
    ("NAME", re.compile(rf"\b(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sister|Nurse)\.?\s+({_NAME})"), 1),
    ("NAME", re.compile(rf"(?i:\b(?:{_FIELD_CUES})\s*[:\-]\s*)({_NAME})"), 1),
    ("NAME", re.compile(rf"\b({_NAME}),?\s+(?:MD|M\.D\.|DO|PhD|FRCR|FRCPC|RT\(R\)|RN|NP|PA-C)\b"), 1),
    ("AGE 90+", re.compile(r"(?i:\b(?:9\d|1[0-4]\d)(?:\s*|-)(?:years?|yrs?|y/?o|yo)(?:[\s\-]old)?\b)"), 0),
)


@dataclass(frozen=True)
class Identifier:
    """A value known to identify the patient of one study (from its DICOM headers, or given)."""

    kind: str  # NAME | ID | DATE | ADDRESS | PHONE | ...
    value: str


@dataclass(frozen=True)
class Scrubbed:
    """Scrubbed text and how many spans of each kind were replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def replaced(self) -> int:
        return sum(self.counts.values())


def date_renderings(value: str) -> list[str]:
    """A DICOM date (``YYYYMMDD``) as reports write it: ISO, US, European, month names."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 8:
        return [value] if value else []
    y, m, d = digits[:4], int(digits[4:6]), int(digits[6:8])
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return [value]
    month = MONTHS[m - 1]
    out = [digits, f"{y}-{m:02d}-{d:02d}", f"{y}/{m:02d}/{d:02d}", f"{y}.{m:02d}.{d:02d}"]
    for sep in "/.-":
        out += [
            f"{m:02d}{sep}{d:02d}{sep}{y}",
            f"{d:02d}{sep}{m:02d}{sep}{y}",
            f"{m}{sep}{d}{sep}{y}",
            f"{d}{sep}{m}{sep}{y}",
        ]
        out += [f"{m:02d}{sep}{d:02d}{sep}{y[2:]}", f"{d:02d}{sep}{m:02d}{sep}{y[2:]}"]
    for name in (month, month[:3]):
        out += [f"{name} {d}, {y}", f"{name} {d} {y}", f"{d} {name} {y}", f"{d} {name}, {y}", f"{name} {d:02d}, {y}"]
    return out


def _known_spans(text: str, identifiers: Iterable[Identifier]) -> list[tuple[int, int, str]]:
    values: dict[str, str] = {}
    for ident in identifiers:
        raw = (ident.value or "").strip()
        if not raw:
            continue
        if ident.kind == "DATE":
            for rendering in date_renderings(raw):
                values.setdefault(rendering.lower(), "DATE")
            continue
        if ident.kind == "NAME":
            parts = [p for p in re.split(r"[\^,\s]+", raw) if len(p.strip(".")) >= 2]
            for part in parts:
                values.setdefault(part.lower(), "NAME")
            if len(parts) >= 2:
                values.setdefault(" ".join(reversed(parts[:2])).lower(), "NAME")
            continue
        values.setdefault(raw.lower(), ident.kind)
        if ident.kind == "ADDRESS":
            for part in re.split(r"[\^,\n]+", raw):
                if len(part.strip()) >= 4:
                    values.setdefault(part.strip().lower(), "ADDRESS")
        compact = re.sub(r"[\s\-./]", "", raw)
        if ident.kind == "ID" and compact != raw and len(compact) >= 4:
            values.setdefault(compact.lower(), "ID")
    spans = []
    for value in sorted(values, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w]){re.escape(value)}(?![\w])", re.IGNORECASE)
        spans += [(m.start(), m.end(), values[value]) for m in pattern.finditer(text)]
    return spans


def scrub(text: str, identifiers: Iterable[Identifier] = ()) -> Scrubbed:
    """``text`` with every known identifier and every pattern match replaced by its placeholder.

    Overlapping matches merge into one span (the kind of the longest); replacement runs right to
    left so offsets stay valid. The result is deterministic: the same text and identifiers give
    the same scrubbed text (the LLM cache keys it).
    """
    if not text:
        return Scrubbed(text or "", {})
    spans = _known_spans(text, identifiers)
    for kind, pattern, group in PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span(group)
            if end > start:
                spans.append((start, end, kind))
    if not spans:
        return Scrubbed(text, {})
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[list[Any]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            if end - start > last[1] - last[0]:
                last[2] = kind
            last[1] = max(last[1], end)
        else:
            merged.append([start, end, kind])
    counts: dict[str, int] = {}
    out = text
    for start, end, kind in reversed(merged):
        out = out[:start] + f"[{kind}]" + out[end:]
        counts[kind] = counts.get(kind, 0) + 1
    return Scrubbed(out, counts)


#: DICOM header attributes whose values identify the patient, and the kind each scrubs as.
HEADER_IDENTIFIERS: tuple[tuple[str, str], ...] = (
    ("PatientName", "NAME"),
    ("PatientBirthName", "NAME"),
    ("PatientMotherBirthName", "NAME"),
    ("OtherPatientNames", "NAME"),
    ("ReferringPhysicianName", "NAME"),
    ("PerformingPhysicianName", "NAME"),
    ("NameOfPhysiciansReadingStudy", "NAME"),
    ("RequestingPhysician", "NAME"),
    ("OperatorsName", "NAME"),
    ("PatientID", "ID"),
    ("OtherPatientIDs", "ID"),
    ("AccessionNumber", "ID"),
    ("StudyID", "ID"),
    ("MedicalRecordLocator", "ID"),
    ("RequestedProcedureID", "ID"),
    ("PerformedProcedureStepID", "ID"),
    ("ScheduledProcedureStepID", "ID"),
    ("PlacerOrderNumberImagingServiceRequest", "ID"),
    ("FillerOrderNumberImagingServiceRequest", "ID"),
    ("PatientBirthDate", "DATE"),
    ("StudyDate", "DATE"),
    ("SeriesDate", "DATE"),
    ("AcquisitionDate", "DATE"),
    ("ContentDate", "DATE"),
    ("PatientAddress", "ADDRESS"),
    ("InstitutionName", "ADDRESS"),
    ("InstitutionAddress", "ADDRESS"),
    ("InstitutionalDepartmentName", "ADDRESS"),
    ("StationName", "ID"),
    ("PatientTelephoneNumbers", "PHONE"),
)


def header_identifiers(files: Iterable[str | Path]) -> list[Identifier]:
    """The identifying values in these DICOM files' headers (pixels are not read).

    Pass one file per series; unreadable or non-DICOM files are skipped (the caller scrubs by
    pattern regardless). Values are de-duplicated, multi-valued elements split.
    """
    import pydicom

    found: dict[tuple[str, str], None] = {}
    for path in files:
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=False)
        except Exception:  # not DICOM or damaged: the patterns still run
            continue
        for keyword, kind in HEADER_IDENTIFIERS:
            element = ds.get(keyword)
            if element is None or element in ("", None):
                continue
            values = element if isinstance(element, pydicom.multival.MultiValue | list | tuple) else [element]
            for value in values:
                text = str(value).strip()
                if len(text) >= 2 and text.upper() not in ("ANONYMOUS", "UNKNOWN", "NONE"):
                    found[(kind, text)] = None
    return [Identifier(kind, value) for kind, value in found]
