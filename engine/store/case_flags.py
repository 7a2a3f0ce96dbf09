"""Readers' flags on a case: "flag" (look again, ask a colleague) and "skip" (left for now, with why).

Append-only rows (migration m012_review; UPDATE and DELETE refused by triggers), one
``BEGIN IMMEDIATE … COMMIT`` per action, returned only after the commit, like decisions. A flag
holds until the same reader's later ``unflag``; a skip is a record of the moment (the worklist
moves on) and clears nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from radcurate.engine.errors import InputError
from radcurate.engine.store.database import utc_now
from radcurate.engine.store.decisions import write_transaction

ACTIONS = ("flag", "unflag", "skip")


@dataclass(frozen=True)
class CaseFlag:
    """One committed flag action on a study by a reader (UTC ISO-8601 ``created_at``)."""

    id: int
    study_id: str
    reader: str
    action: str
    note: str | None
    created_at: str


def record(db: sqlite_utils.Database, study_id: str, *, reader: str, action: str, note: str | None = None) -> CaseFlag:
    """Append one flag action; returns after the COMMIT. InputError for an unknown study, reader or action."""
    reader = (reader or "").strip()
    if not reader:
        raise InputError("a flag needs a reader name", field="reader")
    if action not in ACTIONS:
        raise InputError(f"unknown flag action {action!r} (one of {', '.join(ACTIONS)})", field="action")
    note = (note or "").strip() or None
    with write_transaction(db) as conn:
        if conn.execute("SELECT 1 FROM studies WHERE id = ?", [study_id]).fetchone() is None:
            raise InputError(f"no study {study_id!r} in this project", field="study")
        created = utc_now()
        cursor = conn.execute(
            "INSERT INTO case_flags (study_id, reader, action, note, created_at) VALUES (?, ?, ?, ?, ?)",
            [study_id, reader, action, note, created],
        )
    return CaseFlag(int(cursor.lastrowid or 0), study_id, reader, action, note, created)


def flagged(db: sqlite_utils.Database, *, study_id: str | None = None, reader: str | None = None) -> list[CaseFlag]:
    """The flags that hold now (each reader's latest flag/unflag per study is a flag), oldest first."""
    where, args = ["action IN ('flag', 'unflag')"], []
    if study_id is not None:
        where.append("study_id = ?")
        args.append(study_id)
    if reader is not None:
        where.append("reader = ?")
        args.append(reader)
    rows = db.execute(
        f"""SELECT id, study_id, reader, action, note, created_at FROM case_flags
        WHERE id IN (SELECT max(id) FROM case_flags WHERE {" AND ".join(where)} GROUP BY study_id, reader)
        AND action = 'flag' ORDER BY id""",
        args,
    ).fetchall()
    return [CaseFlag(*row) for row in rows]


def history(db: sqlite_utils.Database, study_id: str | None = None) -> list[CaseFlag]:
    """Every flag action (flags, unflags and skips), oldest first."""
    sql = "SELECT id, study_id, reader, action, note, created_at FROM case_flags"
    if study_id is not None:
        rows = db.execute(sql + " WHERE study_id = ? ORDER BY id", [study_id]).fetchall()
    else:
        rows = db.execute(sql + " ORDER BY id").fetchall()
    return [CaseFlag(*row) for row in rows]
