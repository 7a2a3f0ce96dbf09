"""Readers' gold decisions: append-only rows, undo as a new row, the current gold as a view.

Every write is one ``BEGIN IMMEDIATE … COMMIT`` transaction, and a function returns only after
the commit: the caller (CLI, desktop) may show a decision as saved the moment it gets the
:class:`~radcurate.engine.contracts.labels.Decision` back. UPDATE and DELETE are refused by triggers in the
database itself, so no code path, present or future, can rewrite the audit trail.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlite_utils

from radcurate.engine.contracts.labels import Decision
from radcurate.engine.errors import InputError, StoreError
from radcurate.engine.store.database import utc_now
from radcurate.engine.vocabulary import LabelState

_COLUMNS = (
    "d.id, d.action, d.study_id, d.finding, d.reader, d.state, d.previous_state, d.kind, d.undoes, d.note,"
    " d.decided_at, d.report_sha256, d.series_id, d.report_sha256 IS NOT (SELECT r.sha256 FROM reports r"
    " WHERE r.id = d.study_id) AS stale"
)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` so the read-then-write below cannot interleave with another writer."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _row_to_decision(row: Sequence[Any]) -> Decision:
    return Decision(
        id=row[0],
        study_id=row[2],
        finding=row[3],
        reader=row[4],
        state=LabelState(row[5]) if row[5] else None,  # type: ignore[arg-type]
        previous_state=LabelState(row[6]) if row[6] else None,
        note=row[9],
        decided_at=row[10],
        kind=row[7],
        action=row[1],
        undoes=row[8],
        report_sha256=row[11],
        series_id=row[12],
        stale=bool(row[13]),
    )


def _current_state(
    conn: sqlite3.Connection, study_id: str, finding: str, reader: str, report_sha256: str | None
) -> str | None:
    """The reader's current state against this report text (a decision on an older text is stale)."""
    row = conn.execute(
        "SELECT state FROM decisions WHERE study_id = ? AND finding = ? AND reader = ? AND report_sha256 IS ?"
        " ORDER BY id DESC LIMIT 1",
        (study_id, finding, reader, report_sha256),
    ).fetchone()
    return row[0] if row else None


def _report_sha256(conn: sqlite3.Connection, study_id: str) -> str | None:
    row = conn.execute("SELECT sha256 FROM reports WHERE id = ?", (study_id,)).fetchone()
    return row[0] if row else None


def _check_series(conn: sqlite3.Connection, study_id: str, series_id: str | None) -> str | None:
    """The series a decision was made on: the one given (it must belong to the study), else the
    study's only series; ``None`` when the study has several and none was named."""
    if series_id is not None:
        if conn.execute("SELECT 1 FROM series WHERE id = ? AND study_id = ?", (series_id, study_id)).fetchone() is None:
            raise InputError(f"no series {series_id!r} in study {study_id!r}", field="series")
        return series_id
    rows = conn.execute("SELECT id FROM series WHERE study_id = ? LIMIT 2", (study_id,)).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _next_action(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(action), 0) + 1 FROM decisions").fetchone()[0])


def _check_study(conn: sqlite3.Connection, study_id: str) -> None:
    if conn.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone() is None:
        raise InputError(f"no study {study_id!r} in this project", field="study")


def _check_reader(reader: str) -> str:
    reader = (reader or "").strip()
    if not reader:
        raise InputError("a decision needs a reader name", field="reader")
    return reader


def record(
    db: sqlite_utils.Database,
    study_id: str,
    states: Mapping[str, LabelState],
    *,
    reader: str,
    kind: str = "decide",
    note: str | None = None,
    series_id: str | None = None,
) -> list[Decision]:
    """Record one action: one or more findings' states for one study by one reader.

    Findings must already be canonical vocabulary names (the Project resolves them). Each row is
    stamped with the sha256 of the study's report text as it is now and the series shown. Returns
    the committed decisions in insertion order.
    """
    reader = _check_reader(reader)
    now = utc_now()
    ids: list[int] = []
    try:
        with write_transaction(db) as conn:
            _check_study(conn, study_id)
            sha = _report_sha256(conn, study_id)
            series = _check_series(conn, study_id, series_id)
            action = _next_action(conn)
            for finding, state in states.items():
                previous = _current_state(conn, study_id, finding, reader, sha)
                cur = conn.execute(
                    "INSERT INTO decisions (action, study_id, finding, reader, state, previous_state,"
                    " kind, note, decided_at, report_sha256, series_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        action,
                        study_id,
                        finding,
                        reader,
                        LabelState(state).value,
                        previous,
                        kind,
                        note,
                        now,
                        sha,
                        series,
                    ),
                )
                ids.append(int(cur.lastrowid or 0))
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"decision refused by the store: {exc}") from None
    return fetch(db, ids)


def undo(db: sqlite_utils.Database, *, reader: str, study_id: str | None = None) -> list[Decision]:
    """Revert the reader's latest action not yet undone (in ``study_id`` if given).

    The revert is itself a new action (kind ``undo``) restoring each finding's previous state;
    a finding that had no decision before goes back to undecided (state NULL, hidden from the
    gold view). Returns the new rows; an empty list when there is nothing left to undo.
    """
    reader = _check_reader(reader)
    scope, params = ("AND study_id = ?", [study_id]) if study_id else ("", [])
    now = utc_now()
    ids: list[int] = []
    with write_transaction(db) as conn:
        latest = conn.execute(
            f"SELECT action FROM decisions WHERE reader = ? {scope} AND kind != 'undo' "
            "AND id NOT IN (SELECT undoes FROM decisions WHERE undoes IS NOT NULL) "
            "ORDER BY id DESC LIMIT 1",
            [reader, *params],
        ).fetchone()
        if latest is None:
            return []
        targets = conn.execute(
            "SELECT id, study_id, finding, state, previous_state, report_sha256, series_id FROM decisions"
            " WHERE action = ? AND id NOT IN (SELECT undoes FROM decisions WHERE undoes IS NOT NULL) ORDER BY id DESC",
            (latest[0],),
        ).fetchall()
        action = _next_action(conn)
        for target_id, target_study, finding, state, previous, sha, series in targets:
            # the undo row belongs to the same report text as the decision it reverts
            cur = conn.execute(
                "INSERT INTO decisions (action, study_id, finding, reader, state, previous_state,"
                " kind, undoes, note, decided_at, report_sha256, series_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'undo', ?, NULL, ?, ?, ?)",
                (action, target_study, finding, reader, previous, state, target_id, now, sha, series),
            )
            ids.append(int(cur.lastrowid or 0))
    return fetch(db, ids)


def fetch(db: sqlite_utils.Database, ids: Sequence[int]) -> list[Decision]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = db.execute(f"SELECT {_COLUMNS} FROM decisions d WHERE d.id IN ({marks}) ORDER BY d.id", list(ids))
    return [_row_to_decision(r) for r in rows.fetchall()]


def history(db: sqlite_utils.Database, study_id: str | None = None, reader: str | None = None) -> list[Decision]:
    """The audit trail, oldest first, optionally for one study and/or one reader."""
    where, params = [], []
    if study_id is not None:
        where.append("d.study_id = ?")
        params.append(study_id)
    if reader is not None:
        where.append("d.reader = ?")
        params.append(reader)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = db.execute(f"SELECT {_COLUMNS} FROM decisions d {clause} ORDER BY d.id", params).fetchall()
    return [_row_to_decision(r) for r in rows]


def gold(db: sqlite_utils.Database, study_id: str, reader: str | None = None) -> dict[str, dict[str, LabelState]]:
    """Current gold per reader for one study: ``{reader: {finding: state}}`` (undecided omitted)."""
    sql = "SELECT reader, finding, state FROM gold_labels WHERE study_id = ?"
    params: list[Any] = [study_id]
    if reader is not None:
        sql += " AND reader = ?"
        params.append(reader)
    out: dict[str, dict[str, LabelState]] = {}
    for r, finding, state in db.execute(sql, params).fetchall():
        out.setdefault(r, {})[finding] = LabelState(state)
    return out


def reader_states(db: sqlite_utils.Database, reader: str) -> dict[str, dict[str, LabelState]]:
    """``{study: {finding: state}}`` of one reader's current decisions (what ``agreement reader:A`` reads)."""
    out: dict[str, dict[str, LabelState]] = {}
    rows = db.execute("SELECT study_id, finding, state FROM gold_labels WHERE reader = ?", [reader]).fetchall()
    for study_id, finding, state in rows:
        out.setdefault(study_id, {})[finding] = LabelState(state)
    return out
