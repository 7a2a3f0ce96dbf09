"""Model scores per study and finding (the ``scores`` table), as the ranking reads them.

Scores are written by model scoring (the Learning stage) — one row per (model, study, finding),
a probability in [0, 1] that the finding is present. The ranking wants, per kind of model, the
newest model that has scored anything: a supervised model's scores, and a CLIP model's zero-shot
scores where one exists. :func:`put` is the one writer here (scoring jobs and tests use it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlite_utils


@dataclass(frozen=True)
class ModelScores:
    """The scores of one model: ``scores[study][finding]`` in [0, 1]."""

    model_id: int
    version: str
    kind: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def zero_shot(self) -> bool:
        """CLIP models score by zero-shot prompts (DESIGN §4 Training)."""
        return "clip" in self.kind.lower()


def put(conn: sqlite3.Connection, model_id: int, rows: Iterable[tuple[str, str, float]]) -> int:
    """Store ``(study, finding, score)`` rows for ``model_id`` (replacing earlier ones); the caller
    holds the transaction. Returns the number of rows written."""
    data = [(model_id, s, f, float(v)) for s, f, v in rows]
    conn.executemany(
        "INSERT OR REPLACE INTO scores (model_id, study_id, finding, score) VALUES (?, ?, ?, ?)",
        data,
    )
    return len(data)


def latest_by_kind(db: sqlite_utils.Database) -> list[ModelScores]:
    """For each model kind, the newest model that has scores, with all its scores (newest first)."""
    models = db.execute(
        "SELECT m.id, m.version, m.kind FROM models m WHERE EXISTS (SELECT 1 FROM scores s WHERE s.model_id = m.id)"
        " ORDER BY m.id DESC"
    ).fetchall()
    chosen: dict[str, tuple[int, str, str]] = {}
    for model_id, version, kind in models:
        chosen.setdefault(kind, (int(model_id), version, kind))
    out = []
    for model_id, version, kind in chosen.values():
        by_study: dict[str, dict[str, float]] = {}
        for study_id, finding, score in db.execute(
            "SELECT study_id, finding, score FROM scores WHERE model_id = ?", [model_id]
        ).fetchall():
            by_study.setdefault(study_id, {})[finding] = float(score)
        out.append(ModelScores(model_id, version, kind, by_study))
    return out
