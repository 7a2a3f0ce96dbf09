"""A reader's worklist: every study with its review status, in review order.

The status rule lives here once (the desktop's worklist and the CLI read it from here): a study
is ``done`` for a reader when they have a current decision (against the report text as it is now)
for every finding, ``in_progress`` with some, ``unreviewed`` with none. Decisions on an earlier
report text are stale and do not count, so a re-imported report with new text is reviewed again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import sqlite_utils

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
