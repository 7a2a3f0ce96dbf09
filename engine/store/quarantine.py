"""Quarantine: what a batch could not take in, with the file, the field and the reason.

Batch work never stops at a bad item: it records it here and goes on. A problem is recorded once:
the same path, field, reason and stage seen again (a rerun over the same bad answer, a re-import
of the same broken file) bumps that record's ``seen`` count and ``last_seen`` time instead of
adding a row, so the count in ``radcurate status`` means distinct problems, not attempts. A
different reason for the same file is a different problem and gets its own record.
``radcurate quarantine DIR`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from radcurate.engine.store.database import utc_now


@dataclass(frozen=True)
class QuarantineRecord:
    path: str
    field: str | None
    reason: str
    stage: str
    time: str = ""  # first seen
    seen: int = 1  # times this problem was met
    last_seen: str = ""

    def as_json(self) -> dict[str, str | int | None]:
        return {
            "path": self.path,
            "field": self.field,
            "reason": self.reason,
            "stage": self.stage,
            "time": self.time,
            "seen": self.seen,
            "last_seen": self.last_seen or self.time,
        }


def add(db: sqlite_utils.Database, path: str, field: str | None, reason: str, stage: str) -> QuarantineRecord:
    """Record one problem, or count it again if already recorded (autocommit unless the caller holds
    a transaction). The unique index of migration m008 makes this one statement, safe between processes."""
    now = utc_now()
    (row,) = db.conn.execute(
        "INSERT INTO quarantine (path, field, reason, stage, time, seen, last_seen) VALUES (?, ?, ?, ?, ?, 1, ?) "
        "ON CONFLICT (path, coalesce(field, ''), reason, stage) "
        "DO UPDATE SET seen = seen + 1, last_seen = excluded.last_seen "
        "RETURNING time, seen, last_seen",
        (path, field, reason, stage, now, now),
    ).fetchall()  # fetchall: the statement runs to its end, so an autocommit write commits here
    return QuarantineRecord(path, field, reason, stage, row[0], int(row[1]), row[2] or row[0])


def records(db: sqlite_utils.Database, stage: str | None = None) -> list[QuarantineRecord]:
    """Distinct problems, first seen first (optionally of one stage)."""
    sql = "SELECT path, field, reason, stage, time, seen, coalesce(last_seen, time) FROM quarantine"
    params: list[str] = []
    if stage:
        sql += " WHERE stage = ?"
        params.append(stage)
    return [QuarantineRecord(*row) for row in db.execute(sql + " ORDER BY id", params).fetchall()]
