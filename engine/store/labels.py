"""Label sources and their silver labels.

A *label source* is whoever labelled: an extractor run (``rules``, ``llm:gpt-4o-mini``) or a
reference labeller imported from a file (``ctrate``). Each source holds one *label set* per study
and report text (engine/store/label_sets.py writes them); reads here go through the
``silver_labels`` view, a row per label, where a report's usage is split over its labels, integer
tokens exactly (the remainder on the first labels), so any subset of labels sums correctly.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import InputError
from radcurate.engine.store.database import utc_now
from radcurate.engine.vocabulary import LabelState

KINDS = ("extractor", "reference")
# SQL condition: the label (or label set) ``l`` was made from the study's report text as it is now (not stale).
CURRENT = " AND l.report_sha256 IS (SELECT r.sha256 FROM reports r WHERE r.id = l.study_id)"


@dataclass(frozen=True)
class LabelSource:
    """One label source with what it holds."""

    name: str
    kind: str  # extractor | reference
    plugin: str | None
    version: str | None
    details: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    last_run_at: str = ""
    labels: int = 0
    studies: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "plugin": self.plugin,
            "version": self.version,
            "details": self.details,
            "created_at": self.created_at,
            "last_run_at": self.last_run_at,
            "labels": self.labels,
            "studies": self.studies,
        }


@dataclass(frozen=True)
class Usage:
    """Summed LLM usage of a source (zero for offline extractors and references)."""

    labels: int
    studies: int
    tokens_in: int
    tokens_out: int
    cost_usd: float

    def as_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "studies": self.studies,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
        }


# --------------------------------------------------------------------------- sources
def ensure_source(
    conn: sqlite3.Connection,
    name: str,
    *,
    kind: str,
    plugin: str | None = None,
    version: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Create the source or refresh its plugin/version/details and stamp ``last_run_at``.

    Caller holds the transaction. A name already used by a source of the other kind is refused:
    an extractor run must never overwrite a reference labeller's labels, or the other way round.
    """
    name = (name or "").strip()
    if not name:
        raise InputError("a label source needs a name", field="source")
    if kind not in KINDS:
        raise InputError(f"unknown label source kind {kind!r}", field="kind")
    now = utc_now()
    row = conn.execute("SELECT kind, details FROM label_sources WHERE name = ?", (name,)).fetchone()
    if row and row[0] != kind:
        raise InputError(
            f"label source {name!r} already exists as a {row[0]} source; choose another name", field="source"
        )
    merged = {**(json.loads(row[1]) if row else {}), **(details or {}), "last_run_at": now}
    text = json.dumps(merged, sort_keys=True)
    if row:
        conn.execute(
            "UPDATE label_sources SET plugin = ?, version = ?, details = ? WHERE name = ?",
            (plugin, version, text, name),
        )
    else:
        conn.execute(
            "INSERT INTO label_sources (name, kind, plugin, version, details, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (name, kind, plugin, version, text, now),
        )


def update_details(conn: sqlite3.Connection, name: str, **changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into a source's details (``None`` removes a key); returns the new details."""
    row = conn.execute("SELECT details FROM label_sources WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise InputError(f"no label source {name!r} in this project", field="source")
    details = json.loads(row[0])
    for key, value in changes.items():
        if value is None:
            details.pop(key, None)
        else:
            details[key] = value
    conn.execute("UPDATE label_sources SET details = ? WHERE name = ?", (json.dumps(details, sort_keys=True), name))
    return details


_SOURCES_SQL = """
    SELECT s.name, s.kind, s.plugin, s.version, s.details, s.created_at,
           coalesce(json_extract(s.details, '$.last_run_at'), s.created_at) AS last_run,
           (SELECT coalesce(sum(l.n), 0) FROM label_sets l WHERE l.source = s.name),
           (SELECT count(DISTINCT l.study_id) FROM label_sets l WHERE l.source = s.name)
    FROM label_sources s
"""


def _source(row: Sequence[Any]) -> LabelSource:
    details = json.loads(row[4] or "{}")
    details.pop("last_run_at", None)
    return LabelSource(
        name=row[0],
        kind=row[1],
        plugin=row[2],
        version=row[3],
        details=details,
        created_at=row[5],
        last_run_at=row[6],
        labels=int(row[7]),
        studies=int(row[8]),
    )


def sources(db: sqlite_utils.Database, kind: str | None = None) -> list[LabelSource]:
    """All label sources, most recently run first."""
    sql, params = _SOURCES_SQL, []
    if kind:
        sql += " WHERE s.kind = ?"
        params.append(kind)
    return [_source(r) for r in db.execute(sql + " ORDER BY last_run DESC, s.name", params).fetchall()]


def source_names(db: sqlite_utils.Database, kind: str) -> list[str]:
    """Names of the sources of ``kind`` in :func:`sources`' order (most recently run first), without
    counting their labels (what the ranking reads per batch of studies)."""
    rows = db.execute(
        "SELECT s.name FROM label_sources s WHERE s.kind = ?"
        " ORDER BY coalesce(json_extract(s.details, '$.last_run_at'), s.created_at) DESC, s.name",
        [kind],
    ).fetchall()
    return [r[0] for r in rows]


def get_source(db: sqlite_utils.Database, name: str) -> LabelSource:
    row = db.execute(_SOURCES_SQL + " WHERE s.name = ?", [name]).fetchone()
    if row is None:
        known = ", ".join(s.name for s in sources(db)) or "none yet"
        raise InputError(f"no label source {name!r} in this project (known: {known})", field="source")
    return _source(row)


def latest_extractor_source(db: sqlite_utils.Database, study_id: str | None = None) -> str | None:
    """The most recently run extractor source (having labels for ``study_id`` if given)."""
    sql = (
        "SELECT s.name FROM label_sources s WHERE s.kind = 'extractor' AND EXISTS "
        "(SELECT 1 FROM label_sets l WHERE l.source = s.name {study}" + CURRENT + ") "
        "ORDER BY coalesce(json_extract(s.details, '$.last_run_at'), s.created_at) DESC, s.name LIMIT 1"
    )
    if study_id is None:
        row = db.execute(sql.format(study=""), []).fetchone()
    else:
        row = db.execute(sql.format(study="AND l.study_id = ?"), [study_id]).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------- labels (reads; writes: label_sets.py)
def label_from_row(row: Sequence[Any]) -> SilverLabel:
    """A SilverLabel from a row (finding, state, evidence, start, end, confidence, flags, ...)."""
    return SilverLabel(
        finding=row[0],
        state=LabelState(row[1]),
        evidence=row[2],
        start=row[3],
        end=row[4],
        confidence=row[5],
        flags=tuple(json.loads(row[6] or "[]")),
    )


def labels_for(db: sqlite_utils.Database, study_id: str, source: str) -> dict[str, SilverLabel]:
    """One study's current labels from one source (made from its report text as it is now), in vocabulary order."""
    rows = db.execute(
        "SELECT l.finding, l.state, l.evidence, l.start, l.end, l.confidence, l.flags FROM silver_labels l "
        "JOIN findings f ON f.name = l.finding WHERE l.study_id = ? AND l.source = ?"
        + CURRENT
        + " ORDER BY f.position",
        [study_id, source],
    ).fetchall()
    return {r[0]: label_from_row(r) for r in rows}


def states_by_study(db: sqlite_utils.Database, source: str) -> dict[str, dict[str, LabelState]]:
    """``{study: {finding: state}}`` of one source's current labels (what agreement and training read;
    stale labels of an earlier report text are never used)."""
    out: dict[str, dict[str, LabelState]] = {}
    for study_id, finding, state in db.execute(
        "SELECT l.study_id, l.finding, l.state FROM silver_labels l WHERE l.source = ?" + CURRENT, [source]
    ).fetchall():
        out.setdefault(study_id, {})[finding] = LabelState(state)
    return out


def done_studies(
    db: sqlite_utils.Database, source: str, *, version: str | None, prompt_hash: str | None, findings: int
) -> set[str]:
    """Studies already fully labelled by this source, extractor version and prompt, from the report
    text as it is now (judged by the text's sha256: a re-imported report with new text is labelled
    again; one re-imported unchanged is not)."""
    rows = db.execute(
        "SELECT l.study_id FROM label_sets l JOIN reports r ON r.id = l.study_id "
        "WHERE l.source = ? AND l.extractor_version IS ? AND l.prompt_hash IS ? AND l.report_sha256 = r.sha256 "
        "AND l.n = ?",
        [source, version, prompt_hash, findings],
    ).fetchall()
    return {r[0] for r in rows}


def usage(db: sqlite_utils.Database, source: str) -> Usage:
    row = db.execute(
        "SELECT coalesce(sum(n), 0), count(DISTINCT study_id), coalesce(sum(tokens_in), 0), "
        "coalesce(sum(tokens_out), 0), coalesce(sum(cost_usd), 0) FROM label_sets WHERE source = ?",
        [source],
    ).fetchone()
    return Usage(int(row[0]), int(row[1]), int(row[2]), int(row[3]), float(row[4]))


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Labels per source (sources with labels), from the count maintained on every write."""
    return {
        s: int(n)
        for s, n in db.execute(
            "SELECT name, label_count FROM label_sources WHERE label_count > 0 ORDER BY name"
        ).fetchall()
    }
