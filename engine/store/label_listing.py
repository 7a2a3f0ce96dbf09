"""Listing stored silver labels with their provenance, current and stale (``radcurate labels``).

A label is stale when its study's report text changed after it was made: it stays in the store
for the record (with the sha256 of the text it was made from, kept in ``report_versions``) but is
never shown, trained on or counted as done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.store.labels import label_from_row
from radcurate.engine.vocabulary import LabelState


@dataclass(frozen=True)
class StoredLabel:
    """A silver label as stored, with where it came from and whether it is still current."""

    study_id: str
    source: str
    label: SilverLabel
    extractor_version: str | None
    report_sha256: str | None
    stale: bool
    created_at: str

    def as_json(self) -> dict[str, Any]:
        lab = self.label
        return {
            "study": self.study_id,
            "finding": lab.finding,
            "state": LabelState(lab.state).value,
            "source": self.source,
            "evidence": lab.evidence,
            "start": lab.start,
            "end": lab.end,
            "confidence": lab.confidence,
            "flags": list(lab.flags),
            "extractor_version": self.extractor_version,
            "report_sha256": self.report_sha256,
            "stale": self.stale,
            "created_at": self.created_at,
        }


def stored_labels(
    db: sqlite_utils.Database, *, source: str | None = None, study_id: str | None = None
) -> list[StoredLabel]:
    """Every stored label (current and stale), by study import order, source, then vocabulary order."""
    where, params = [], []
    if source is not None:
        where.append("l.source = ?")
        params.append(source)
    if study_id is not None:
        where.append("l.study_id = ?")
        params.append(study_id)
    rows = db.execute(
        "SELECT l.finding, l.state, l.evidence, l.start, l.end, l.confidence, l.flags, l.study_id, l.source,"
        " l.extractor_version, l.report_sha256, l.created_at,"
        " l.report_sha256 IS NOT (SELECT r.sha256 FROM reports r WHERE r.id = l.study_id) AS stale"
        " FROM silver_labels l JOIN findings f ON f.name = l.finding JOIN studies s ON s.id = l.study_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY s.position, l.source, stale, l.created_at, f.position",
        params,
    ).fetchall()
    return [StoredLabel(r[7], r[8], label_from_row(r), r[9], r[10], bool(r[12]), r[11]) for r in rows]


def stale_count(db: sqlite_utils.Database) -> int:
    """Labels made from a report text that has since changed.

    Only studies whose report was ever replaced (they have a row in ``report_versions``) can hold
    stale labels, so the count reads those studies' labels through the study index instead of
    comparing every label of a site's archive (``status`` stays fast at 100k studies).
    """
    row = db.execute(
        "SELECT count(*) FROM silver_labels l WHERE l.study_id IN (SELECT DISTINCT study_id FROM report_versions) "
        "AND l.report_sha256 IS NOT (SELECT r.sha256 FROM reports r WHERE r.id = l.study_id)"
    ).fetchone()
    return int(row[0])
