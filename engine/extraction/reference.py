"""``radcurate import-labels``: another labeller's labels as a named reference source.

A CSV (or ``.tsv``) with one row per study: an id column and one column per finding, named as in
the vocabulary (case-insensitive; other columns such as the report text are ignored). Values may be

* binary ``1``/``0`` (CT-RATE's ``reports_labels.csv``): ``present`` / ``absent``;
* the four states by name: ``present``, ``absent``, ``uncertain``, ``not_mentioned``;
* CheXpert's ``1``/``0``/``-1``/empty: ``present`` / ``absent`` / ``uncertain`` / ``not_mentioned``.

A row whose study is not in the project is quarantined (stage ``labels``), not turned into a new
study: a reference label without a study has no report or image to compare with, and silently
creating studies would hide a mismatched id column. A row with a value that is none of the above
is quarantined whole (with the column and the value). Importing the same source again replaces
its labels, in one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import InputError
from radcurate.engine.files.text_files import ID_COLUMNS, read_text_file
from radcurate.engine.store import label_sets, quarantine, studies
from radcurate.engine.store import labels as label_store
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.vocabulary import LabelState

_WORDS = {
    "present": LabelState.PRESENT,
    "positive": LabelState.PRESENT,
    "pos": LabelState.PRESENT,
    "yes": LabelState.PRESENT,
    "true": LabelState.PRESENT,
    "absent": LabelState.ABSENT,
    "negative": LabelState.ABSENT,
    "neg": LabelState.ABSENT,
    "no": LabelState.ABSENT,
    "false": LabelState.ABSENT,
    "uncertain": LabelState.UNCERTAIN,
    "": LabelState.NOT_MENTIONED,
    "not_mentioned": LabelState.NOT_MENTIONED,
    "not mentioned": LabelState.NOT_MENTIONED,
    "nan": LabelState.NOT_MENTIONED,
}
_NUMBERS = {1.0: LabelState.PRESENT, 0.0: LabelState.ABSENT, -1.0: LabelState.UNCERTAIN}


@dataclass
class ImportSummary:
    """What ``import-labels`` did (``--json`` prints :meth:`as_json`)."""

    source: str
    file: str
    id_column: str
    rows: int = 0
    imported: int = 0
    quarantined: int = 0
    findings: list[str] = field(default_factory=list)
    missing_findings: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_value(value: str) -> LabelState | None:
    """A cell's state, or None if it is not a label value this importer knows."""
    text = value.strip().lower()
    if text in _WORDS:
        return _WORDS[text]
    try:
        return _NUMBERS.get(float(text))
    except ValueError:
        return None


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    text = read_text_file(path, "the labels file", encoding="utf-8-sig")
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", path=path) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError("the labels file is empty (no header row)", path=path)
    return [h.strip() for h in rows[0]], rows[1:]


def import_labels(project: Any, file: str | Path, *, source: str, id_column: str | None = None) -> ImportSummary:
    """Import ``file`` as reference source ``source``; returns what was imported and quarantined.

    ``id_column`` names the column holding study ids (case-insensitive); default: the first of
    ``study_id``, ``AccessionNo``, ``id`` present, else the first column (as report import does).
    """
    path = Path(file).expanduser().resolve()
    header, rows = _read(path)
    lower = {h.casefold(): i for i, h in enumerate(header)}
    if id_column is None:
        id_index = next((lower[c.casefold()] for c in ID_COLUMNS if c.casefold() in lower), 0)
    elif id_column.strip().casefold() in lower:
        id_index = lower[id_column.strip().casefold()]
    else:
        raise InputError(f"no column {id_column!r} (columns: {', '.join(header)})", path=path, field="id-column")
    vocabulary = project.vocabulary
    columns: dict[int, str] = {}
    ignored = []
    for i, name in enumerate(header):
        if i == id_index:
            continue
        if name in vocabulary:
            columns[i] = vocabulary.resolve(name)
        else:
            ignored.append(name)
    if not columns:
        raise InputError(
            f"no column is named after a finding of this project's vocabulary ({', '.join(vocabulary)})", path=path
        )
    missing = [f for f in vocabulary if f not in columns.values()]
    summary = ImportSummary(
        source,
        str(path),
        header[id_index],
        findings=list(columns.values()),
        missing_findings=missing,
        ignored_columns=ignored,
    )
    db = project.db
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with write_transaction(db) as conn:
        label_store.ensure_source(
            conn, source, kind="reference", details={"file": str(path), "sha256": digest, "id_column": header[id_index]}
        )
        label_sets.delete_source_labels(conn, source)
        known = {r[0] for r in conn.execute("SELECT id FROM studies").fetchall()}
        seen: set[str] = set()
        for line, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            summary.rows += 1
            problem, labels = _row_labels(row, id_index, columns, known, seen)
            where = f"{path}:{line}"
            if problem is not None:
                field_name = header[id_index] if problem[0] == "id" else problem[0]
                quarantine.add(db, where, field_name, problem[1], "labels")
                summary.quarantined += 1
                continue
            study_id = row[id_index].strip()
            seen.add(study_id)
            sha = studies.current_report_sha256(conn, study_id)  # the text the reference labelled
            label_sets.replace_study_labels(conn, study_id, source, labels, report_sha256=sha)
            summary.imported += 1
    return summary


def _row_labels(
    row: list[str], id_index: int, columns: dict[int, str], known: set[str], seen: set[str]
) -> tuple[tuple[str, str] | None, list[SilverLabel]]:
    """((field, reason) if the row is quarantined, else None; the row's labels)."""
    study_id = row[id_index].strip() if id_index < len(row) else ""
    if not study_id:
        return ("id", "the row has no study id"), []
    if study_id not in known:
        return ("id", f"no study {study_id!r} in this project (import its report first)"), []
    if study_id in seen:
        return ("id", f"study {study_id!r} appears twice in the file; the first row was kept"), []
    labels = []
    for i, finding in columns.items():
        value = row[i] if i < len(row) else ""
        state = parse_value(value)
        if state is None:
            return (
                finding,
                f"{value!r} is not a label value (1/0/-1/empty or present/absent/uncertain/not_mentioned)",
            ), []
        labels.append(SilverLabel(finding, state))
    return None, labels
