"""Quarantine: what a batch could not take in, with the file, the field and the reason.

Batch work never stops at a bad item: it records it here and goes on. Records are kept (not
overwritten) so a user can see every attempt; ``radcurate quarantine DIR`` lists them.
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
    time: str = ""

    def as_json(self) -> dict[str, str | None]:
        return {"path": self.path, "field": self.field, "reason": self.reason, "stage": self.stage, "time": self.time}


def add(db: sqlite_utils.Database, path: str, field: str | None, reason: str, stage: str) -> QuarantineRecord:
    """Record one item (autocommit unless the caller holds a transaction)."""
    now = utc_now()
    db.conn.execute(
        "INSERT INTO quarantine (path, field, reason, stage, time) VALUES (?, ?, ?, ?, ?)",
        (path, field, reason, stage, now),
    )
    return QuarantineRecord(path, field, reason, stage, now)


def records(db: sqlite_utils.Database, stage: str | None = None) -> list[QuarantineRecord]:
    sql = "SELECT path, field, reason, stage, time FROM quarantine"
    params: list[str] = []
    if stage:
        sql += " WHERE stage = ?"
        params.append(stage)
    return [QuarantineRecord(*row) for row in db.execute(sql + " ORDER BY id", params).fetchall()]
