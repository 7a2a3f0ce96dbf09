"""Per-series fetch records of PACS imports (table ``pacs_fetches``, migration m011_pacs).

Why a table and not marker files in the cache: the store is the single source of truth, a record
changes in one transaction with nothing half-written, and ``radcurate status``/the app can ask
"what is still to fetch" without walking a cache that a user may prune. The files themselves
stay in ``cache/pacs/``; a record says ``complete`` only after its folder was renamed into place,
so a kill between the two costs one refetch of that series, never a half series taken as whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from radcurate.engine.store.database import utc_now

STATES = ("fetching", "complete", "failed")


@dataclass(frozen=True)
class FetchRecord:
    series_uid: str
    study_uid: str
    source: str
    modality: str
    state: str
    folder: str  # relative to the project folder
    expected: int | None
    received: int
    files_sha256: str | None
    attempts: int
    error: str | None
    updated_at: str


_COLUMNS = (
    "series_uid, study_uid, source, modality, state, folder, expected, received, files_sha256, attempts, "
    "error, updated_at"
)


def get(db: sqlite_utils.Database, series_uid: str) -> FetchRecord | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM pacs_fetches WHERE series_uid = ?", [series_uid]).fetchone()
    return FetchRecord(*row) if row else None


def records(db: sqlite_utils.Database, state: str | None = None) -> list[FetchRecord]:
    sql, params = f"SELECT {_COLUMNS} FROM pacs_fetches", []
    if state:
        sql += " WHERE state = ?"
        params.append(state)
    return [FetchRecord(*row) for row in db.execute(sql + " ORDER BY study_uid, series_uid", params).fetchall()]


def begin(
    db: sqlite_utils.Database,
    *,
    series_uid: str,
    study_uid: str,
    source: str,
    modality: str,
    folder: str,
    expected: int | None,
) -> None:
    """Mark a series as being fetched (one more attempt); autocommits."""
    db.conn.execute(  # one statement: autocommits (connections run with isolation_level=None)
        "INSERT INTO pacs_fetches (series_uid, study_uid, source, modality, state, folder, expected, received, "
        "attempts, updated_at) VALUES (?, ?, ?, ?, 'fetching', ?, ?, 0, 1, ?) "
        "ON CONFLICT (series_uid) DO UPDATE SET state = 'fetching', source = excluded.source, "
        "folder = excluded.folder, expected = excluded.expected, received = 0, files_sha256 = NULL, "
        "attempts = attempts + 1, error = NULL, updated_at = excluded.updated_at",
        (series_uid, study_uid, source, modality, folder, expected, utc_now()),
    )


def complete(db: sqlite_utils.Database, series_uid: str, *, received: int, files_sha256: str) -> None:
    db.conn.execute(  # one statement: autocommits (connections run with isolation_level=None)
        "UPDATE pacs_fetches SET state = 'complete', received = ?, files_sha256 = ?, error = NULL, "
        "updated_at = ? WHERE series_uid = ?",
        (received, files_sha256, utc_now(), series_uid),
    )


def fail(db: sqlite_utils.Database, series_uid: str, *, received: int, error: str) -> None:
    db.conn.execute(  # one statement: autocommits (connections run with isolation_level=None)
        "UPDATE pacs_fetches SET state = 'failed', received = ?, error = ?, updated_at = ? WHERE series_uid = ?",
        (received, error, utc_now(), series_uid),
    )


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Series per fetch state (``complete``, ``fetching`` = interrupted, ``failed``)."""
    found = dict(db.execute("SELECT state, count(*) FROM pacs_fetches GROUP BY state").fetchall())
    return {state: int(found.get(state, 0)) for state in STATES}
