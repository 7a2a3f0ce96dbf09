"""Studies, their series and their reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from radcurate.engine.errors import InputError
from radcurate.engine.store.database import utc_now


@dataclass(frozen=True)
class Report:
    """A report as stored; ``text`` is exactly what evidence offsets index into."""

    id: str
    study_id: str
    text: str
    sha256: str
    source: str | None


@dataclass(frozen=True)
class SeriesRecord:
    """A series row: where its files are and what its volume looks like, without the voxels."""

    id: str
    study_id: str
    loader: str
    series_key: str
    files: tuple[str, ...]
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    affine: list[list[float]]
    orientation: str
    modality: str
    hu_min: float | None
    hu_max: float | None
    checksum: str
    metadata: dict[str, Any]


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure_study(db: sqlite_utils.Database, study_id: str) -> bool:
    """Create the study if it is new; True when it was created. Caller holds the transaction."""
    study_id = study_id.strip()
    if not study_id:
        raise InputError("a study id cannot be empty", field="study")
    conn = db.conn
    if conn.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone():
        return False
    position = conn.execute("SELECT coalesce(max(position), 0) + 1 FROM studies").fetchone()[0]
    conn.execute("INSERT INTO studies (id, position, created_at) VALUES (?, ?, ?)", (study_id, position, utc_now()))
    return True


def study_ids(db: sqlite_utils.Database) -> list[str]:
    """All study ids in import order."""
    return [r[0] for r in db.execute("SELECT id FROM studies ORDER BY position").fetchall()]


def study_exists(db: sqlite_utils.Database, study_id: str) -> bool:
    return db.execute("SELECT 1 FROM studies WHERE id = ?", [study_id]).fetchone() is not None


def upsert_report(db: sqlite_utils.Database, study_id: str, text: str, source: str | None) -> str:
    """Store the study's report (one per study; re-import with new text replaces it).

    Returns ``"new"``, ``"unchanged"`` or ``"changed"``. Caller holds the transaction.
    """
    digest = text_sha256(text)
    row = db.conn.execute("SELECT sha256 FROM reports WHERE id = ?", (study_id,)).fetchone()
    if row and row[0] == digest:
        return "unchanged"
    _keep_superseded(db.conn, [study_id] if row else [])
    db.conn.execute(
        "INSERT INTO reports (id, study_id, text, sha256, source, imported_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET text = excluded.text, sha256 = excluded.sha256, "
        "source = excluded.source, imported_at = excluded.imported_at",
        (study_id, study_id, text, digest, source, utc_now()),
    )
    return "changed" if row else "new"


def _keep_superseded(conn: Any, study_ids: Sequence[str]) -> None:
    """Copy the reports about to be replaced into ``report_versions``: labels and decisions made
    against an earlier text stay readable (stale, with evidence offsets into that text)."""
    conn.executemany(
        "INSERT OR IGNORE INTO report_versions (study_id, sha256, text, imported_at) "
        "SELECT study_id, sha256, text, imported_at FROM reports WHERE id = ?",
        [(s,) for s in study_ids],
    )


def store_reports(conn: Any, rows: Sequence[tuple[str, str, str | None]]) -> list[tuple[bool, str]]:
    """Store a batch of ``(study_id, text, source)`` reports; per row ``(study created, outcome)``.

    The same rules as :func:`ensure_study` + :func:`upsert_report` (outcome ``new``/``changed``/
    ``unchanged``, positions in arrival order, every text kept in ``report_versions``) with a
    handful of set-based statements per batch instead of five per row, so a site's archive
    imports at thousands of reports a second. Caller holds the transaction; ids must be unique
    within the batch and already stripped.
    """
    if not rows:
        return []
    ids = [r[0] for r in rows]
    known: set[str] = set()
    current: dict[str, str] = {}
    for start in range(0, len(ids), 500):  # SQLite's default limit on bound parameters is 999+
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        known.update(r[0] for r in conn.execute(f"SELECT id FROM studies WHERE id IN ({marks})", chunk))
        current.update(conn.execute(f"SELECT id, sha256 FROM reports WHERE id IN ({marks})", chunk).fetchall())
    position = int(conn.execute("SELECT coalesce(max(position), 0) FROM studies").fetchone()[0])
    now = utc_now()
    new_studies, writes, out = [], [], []
    for study_id, text, source in rows:
        created = study_id not in known
        if created:
            position += 1
            new_studies.append((study_id, position, now))
            known.add(study_id)
        digest = text_sha256(text)
        before = current.get(study_id)
        outcome = "unchanged" if before == digest else "changed" if before else "new"
        if outcome != "unchanged":
            writes.append((study_id, study_id, text, digest, source, now))
        out.append((created, outcome))
    conn.executemany("INSERT INTO studies (id, position, created_at) VALUES (?, ?, ?)", new_studies)
    _keep_superseded(conn, [sid for sid, (_, outcome) in zip(ids, out, strict=True) if outcome == "changed"])
    conn.executemany(
        "INSERT INTO reports (id, study_id, text, sha256, source, imported_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET text = excluded.text, sha256 = excluded.sha256, "
        "source = excluded.source, imported_at = excluded.imported_at",
        writes,
    )
    return out


def report_text_version(db: sqlite_utils.Database, study_id: str, sha256: str) -> str | None:
    """The text a study's report had when its sha256 was ``sha256`` (``None`` if never seen)."""
    row = db.execute(
        "SELECT text FROM reports WHERE id = ? AND sha256 = ? UNION ALL "
        "SELECT text FROM report_versions WHERE study_id = ? AND sha256 = ? LIMIT 1",
        [study_id, sha256, study_id, sha256],
    ).fetchone()
    return row[0] if row else None


def current_report_sha256(conn: Any, study_id: str) -> str | None:
    """The sha256 of the study's report text now (``None``: no report). Works inside a transaction."""
    row = conn.execute("SELECT sha256 FROM reports WHERE id = ?", (study_id,)).fetchone()
    return row[0] if row else None


def report_for(db: sqlite_utils.Database, study_id: str) -> Report | None:
    row = db.execute("SELECT id, study_id, text, sha256, source FROM reports WHERE study_id = ?", [study_id]).fetchone()
    return Report(*row) if row else None


def reports(db: sqlite_utils.Database, study_ids_: Iterable[str] | None = None) -> list[Report]:
    """Reports in study import order (all, or those of the given studies)."""
    sql = (
        "SELECT r.id, r.study_id, r.text, r.sha256, r.source FROM reports r "
        "JOIN studies s ON s.id = r.study_id ORDER BY s.position"
    )
    rows = [Report(*r) for r in db.execute(sql).fetchall()]
    if study_ids_ is not None:
        wanted = set(study_ids_)
        rows = [r for r in rows if r.study_id in wanted]
    return rows


def series_exists(db: sqlite_utils.Database, series_id: str) -> bool:
    return db.execute("SELECT 1 FROM series WHERE id = ?", [series_id]).fetchone() is not None


def insert_series(db: sqlite_utils.Database, record: SeriesRecord) -> None:
    """Insert a series row. Caller holds the transaction."""
    db.conn.execute(
        "INSERT INTO series (id, study_id, loader, series_key, files, shape, spacing, affine, orientation,"
        " modality, hu_min, hu_max, checksum, metadata, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            record.id,
            record.study_id,
            record.loader,
            record.series_key,
            json.dumps(list(record.files)),
            json.dumps(list(record.shape)),
            json.dumps(list(record.spacing)),
            json.dumps(record.affine),
            record.orientation,
            record.modality,
            record.hu_min,
            record.hu_max,
            record.checksum,
            json.dumps(record.metadata, default=str),
            utc_now(),
        ),
    )


def _series_from_row(row: dict[str, Any]) -> SeriesRecord:
    return SeriesRecord(
        id=row["id"],
        study_id=row["study_id"],
        loader=row["loader"],
        series_key=row["series_key"],
        files=tuple(json.loads(row["files"])),
        shape=tuple(json.loads(row["shape"])),  # type: ignore[arg-type]
        spacing=tuple(json.loads(row["spacing"])),
        affine=json.loads(row["affine"]),  # type: ignore[arg-type]
        orientation=row["orientation"],
        modality=row["modality"],
        hu_min=row["hu_min"],
        hu_max=row["hu_max"],
        checksum=row["checksum"],
        metadata=json.loads(row["metadata"] or "{}"),
    )


def series_for(db: sqlite_utils.Database, study_id: str) -> list[SeriesRecord]:
    """The study's series, largest volume first (the one the desktop shows by default)."""
    rows = [_series_from_row(r) for r in db.query("SELECT * FROM series WHERE study_id = ?", [study_id])]
    return sorted(rows, key=lambda s: -(s.shape[0] * s.shape[1] * s.shape[2]))


def get_series(db: sqlite_utils.Database, series_id: str) -> SeriesRecord:
    rows = list(db.query("SELECT * FROM series WHERE id = ?", [series_id]))
    if not rows:
        raise InputError(f"no series {series_id!r} in this project", field="series")
    return _series_from_row(rows[0])


def series_with_checksum(db: sqlite_utils.Database, study_id: str, checksum: str) -> str | None:
    """The id of the study's series holding exactly these voxels (same content checksum), if any."""
    row = db.conn.execute("SELECT id FROM series WHERE study_id = ? AND checksum = ?", (study_id, checksum)).fetchone()
    return row[0] if row else None


def update_series_files(db: sqlite_utils.Database, series_id: str, files: Iterable[str]) -> None:
    """Point a series at its files' new place (same bytes, moved folder). Caller holds the transaction."""
    db.conn.execute("UPDATE series SET files = ? WHERE id = ?", (json.dumps(list(files)), series_id))
