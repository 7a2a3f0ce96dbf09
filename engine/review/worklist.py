"""A reader's worklist: every study with its review status, in review order.

The status rule lives here once (the desktop's worklist and the CLI read it from here): a study
is ``done`` for a reader when they have a current decision (against the report text as it is now)
for every finding, ``in_progress`` with some, ``unreviewed`` with none. Decisions on an earlier
report text are stale and do not count, so a re-imported report with new text is reviewed again.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import sqlite_utils

from radcurate.engine.errors import InputError

STATUSES = ("unreviewed", "in_progress", "done")


def status_for(decided: int, findings: int) -> str:
    """``done`` / ``in_progress`` / ``unreviewed`` for a study with ``decided`` of ``findings`` decided."""
    return "done" if decided >= findings else "in_progress" if decided else "unreviewed"


@dataclass(frozen=True)
class WorklistEntry:
    """One study in a reader's worklist."""

    study_id: str
    position: int
    status: str  # unreviewed | in_progress | done
    decided: int
    findings: int
    priority: float | None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def worklist(
    db: sqlite_utils.Database, *, reader: str, findings: int, priorities: dict[str, float] | None = None
) -> list[WorklistEntry]:
    """Studies with ``reader``'s status; highest ``priorities`` first where given, else import order.

    ``priorities`` (study → review priority, higher = more likely a silver-label error) comes from
    the ranking once a model has scored the studies; studies the reader has finished drop down.
    """
    decided = dict(
        db.execute("SELECT study_id, count(*) FROM gold_labels WHERE reader = ? GROUP BY study_id", [reader]).fetchall()
    )
    entries = []
    for study_id, position in db.execute("SELECT id, position FROM studies ORDER BY position").fetchall():
        n = int(decided.get(study_id, 0))
        priority = priorities.get(study_id) if priorities else None
        entries.append(WorklistEntry(study_id, int(position), status_for(n, findings), n, findings, priority))
    if priorities:
        entries.sort(key=lambda e: (e.status == "done", -(e.priority or 0.0), e.position))
    return entries


# --------------------------------------------------------------------------- stored, paged reads
# The reads below use the stored priorities and statuses (engine/review/priorities.py, migration
# m010); the caller refreshes them first (the Project façade does). Review order: highest priority
# first, then import order, when a model has scored the project ("ranked"); import order before.


def ranked(db: sqlite_utils.Database) -> bool:
    """Whether the order comes from model scores (else import order, the desktop's contract)."""
    return db.execute("SELECT 1 FROM scores LIMIT 1").fetchone() is not None


def _order(is_ranked: bool) -> tuple[str, str]:
    """(the index that gives the review order, its ORDER BY)."""
    if is_ranked:
        return "study_priority_order", "p.priority DESC, p.position"
    return "study_priority_position", "p.position"


def _status_condition(statuses: set[str], findings: int, decided: str) -> tuple[str, list[Any]]:
    """SQL keeping ``statuses``, on the expression ``decided`` (the reader's decided count)."""
    parts = {"unreviewed": "{d} = 0", "in_progress": "({d} > 0 AND {d} < ?)", "done": "{d} >= ?"}
    unknown = statuses - set(parts)
    if unknown:
        known = ", ".join(STATUSES)
        raise InputError(f"unknown worklist status {sorted(unknown)[0]!r} (known: {known})", field="status")
    if statuses >= set(STATUSES):
        return "1", []
    chosen = [s for s in STATUSES if s in statuses]
    sql = " OR ".join(parts[s].format(d=decided) for s in chosen)
    return f"({sql})", [findings for s in chosen if s != "unreviewed"]


def worklist_page(
    db: sqlite_utils.Database,
    *,
    reader: str,
    findings: int,
    offset: int = 0,
    limit: int = 100,
    statuses: Sequence[str] | None = None,
) -> list[WorklistEntry]:
    """``limit`` studies from ``offset`` of the reader's worklist in review order, keeping only
    ``statuses`` if given — an indexed read: no study outside the page is ranked or built.

    With ``unreviewed`` among the statuses, the page is cut from the order index and the reader's
    touched studies of the other statuses (few) are stepped over by where they fall in the order
    (:func:`_raw_offset`), so even the last page reads about a page of rows; without it, the page
    starts from the reader's touched studies and sorts them.
    """
    is_ranked = ranked(db)
    index, order = _order(is_ranked)
    wanted = set(statuses) if statuses else set(STATUSES)
    _status_condition(wanted, findings, "d")  # refuses unknown statuses
    if "unreviewed" not in wanted:
        condition, params = _status_condition(wanted, findings, "r.decided")
        sql = (
            "SELECT p.study_id, p.position, p.priority, r.decided FROM reader_progress r"
            f" JOIN study_priority p ON p.study_id = r.study_id WHERE r.reader = ? AND {condition}"
        )
        rows = db.execute(f"{sql} ORDER BY {order} LIMIT ? OFFSET ?", [reader, *params, int(limit), int(offset)])
        return _entries(rows.fetchall(), findings, is_ranked)
    dropped = [s for s in ("in_progress", "done") if s not in wanted]
    left_out: dict[str, tuple[float, int]] = {}
    if dropped:
        condition = " OR ".join({"in_progress": "r.decided < ?", "done": "r.decided >= ?"}[s] for s in dropped)
        left_out = {
            study: _key(priority, position, is_ranked)
            for study, priority, position in db.execute(
                "SELECT p.study_id, p.priority, p.position FROM reader_progress r JOIN study_priority p"
                f" ON p.study_id = r.study_id WHERE r.reader = ? AND ({condition})",
                [reader, *[findings for _ in dropped]],
            ).fetchall()
        }
    raw = _raw_offset(db, index, order, is_ranked, sorted(left_out.values()), int(offset))
    sql = (
        f"SELECT p.study_id, p.position, p.priority, coalesce(r.decided, 0) FROM (SELECT study_id, position,"
        f" priority FROM study_priority p INDEXED BY {index} ORDER BY {order} LIMIT ? OFFSET ?) p"
        " LEFT JOIN reader_progress r ON r.reader = ? AND r.study_id = p.study_id"
    )
    cut = db.execute(f"{sql} ORDER BY {order}", [int(limit) + len(left_out), raw, reader]).fetchall()
    return _entries([r for r in cut if r[0] not in left_out][: int(limit)], findings, is_ranked)


def _key(priority: float, position: int, is_ranked: bool) -> tuple[float, int]:
    """A study's place in the review order, as a sortable key."""
    return (-float(priority), int(position)) if is_ranked else (0.0, int(position))


def _raw_offset(
    db: sqlite_utils.Database, index: str, order: str, is_ranked: bool, skipped: list[tuple[float, int]], offset: int
) -> int:
    """Where in the whole order the ``offset``-th study that is not ``skipped`` (sorted keys) stands.

    The least ``raw`` with ``raw = offset + (skipped studies before raw)``: each step reads one
    row's key through the index, and a few steps settle it (each adds only the skipped studies met).
    """
    raw = offset
    while skipped:
        row = db.execute(
            f"SELECT priority, position FROM study_priority p INDEXED BY {index} ORDER BY {order} LIMIT 1 OFFSET ?",
            [raw],
        ).fetchone()
        if row is None:
            return raw
        before = bisect_left(skipped, _key(row[0], row[1], is_ranked))
        if offset + before == raw:
            return raw
        raw = offset + before
    return raw


def _entries(rows: list[Any], findings: int, is_ranked: bool) -> list[WorklistEntry]:
    return [
        WorklistEntry(s, int(pos), status_for(int(d), findings), int(d), findings, float(p) if is_ranked else None)
        for s, pos, p, d in rows
    ]


def worklist_counts(db: sqlite_utils.Database, *, reader: str, findings: int) -> dict[str, int]:
    """Studies per status for ``reader`` and ``total``: a count of the reader's touched studies."""
    total = int(db.execute("SELECT count(*) FROM study_priority").fetchone()[0])
    done, started = db.execute(
        "SELECT coalesce(sum(decided >= ?), 0), count(*) FROM reader_progress WHERE reader = ?", [findings, reader]
    ).fetchone()
    out = {"unreviewed": total - int(started), "in_progress": int(started) - int(done), "done": int(done)}
    return {**out, "total": total}


class WorklistSnapshot(Sequence[WorklistEntry]):
    """A reader's whole worklist at one moment, in review order, held compactly for the desktop.

    One indexed read of (study, position, priority) for every study, plus the reader's touched
    studies; a :class:`WorklistEntry` is built only when asked for (the table asks for the rows on
    screen). The order stays as read — a reader's decision changes their status here
    (:meth:`set_decided`), not the order under their hands — until the next snapshot.
    """

    def __init__(self, db: sqlite_utils.Database, *, reader: str, findings: int):
        self.reader, self.findings, self.ranked = reader, findings, ranked(db)
        index, order = _order(self.ranked)
        rows = db.execute(
            f"SELECT study_id, position, priority FROM study_priority p INDEXED BY {index} ORDER BY {order}"
        )
        self._rows: list[tuple[str, int, float]] = rows.fetchall()
        self.decided: dict[str, int] = dict(
            db.execute("SELECT study_id, decided FROM reader_progress WHERE reader = ?", [reader]).fetchall()
        )
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def study_id(self, i: int) -> str:
        return self._rows[i][0]

    @overload
    def __getitem__(self, i: int) -> WorklistEntry: ...
    @overload
    def __getitem__(self, i: slice) -> list[WorklistEntry]: ...
    def __getitem__(self, i: int | slice) -> WorklistEntry | list[WorklistEntry]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._rows)))]
        study_id, position, priority = self._rows[i]
        n = self.decided.get(study_id, 0)
        shown = priority if self.ranked else None
        return WorklistEntry(study_id, position, status_for(n, self.findings), n, self.findings, shown)

    def status(self, i: int) -> str:
        """The status of the ``i``-th study (no entry built)."""
        return status_for(self.decided.get(self._rows[i][0], 0), self.findings)

    def index_of(self, study_id: str | None) -> int:
        """Where ``study_id`` is in the order (-1: not in it)."""
        if self._index is None:
            self._index = {row[0]: i for i, row in enumerate(self._rows)}
        return -1 if study_id is None else self._index.get(study_id, -1)

    def set_decided(self, study_id: str, decided: int) -> None:
        """The reader now has ``decided`` current decisions for the study (after a commit)."""
        if decided:
            self.decided[study_id] = decided
        else:
            self.decided.pop(study_id, None)

    def counts(self) -> dict[str, int]:
        """Studies per status and ``total`` (from the touched studies: no pass over every row)."""
        done = sum(1 for s, n in self.decided.items() if n >= self.findings and self.index_of(s) >= 0)
        started = sum(1 for s in self.decided if self.index_of(s) >= 0)
        return {
            "unreviewed": len(self._rows) - started,
            "in_progress": started - done,
            "done": done,
            "total": len(self),
        }
