"""Model scores per study and finding (the ``scores`` table), as the ranking reads them.

Scores are written by model scoring (the Learning stage) — one row per (model, study, finding),
a probability in [0, 1] that the finding is present. The ranking wants, per kind of model, the
newest model that has scored anything: a supervised model's scores, and a CLIP model's zero-shot
scores where one exists. :func:`put` is the one writer here (scoring jobs and tests use it).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils


@dataclass(frozen=True)
class ModelScores:
    """The scores of one model: ``scores[study][finding]`` in [0, 1]."""

    model_id: int
    version: str
    kind: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    reliability: dict[str, float] = field(default_factory=dict)  # finding → weight in [0, 1]; missing: 1

    def weight(self, finding: str) -> float:
        """How much the ranking trusts this model on ``finding``: ``2·(AUC − 0.5)`` clipped to [0, 1]
        from its test AUC — the finding's or the macro one, whichever is lower (a finding's AUC on a
        small test split is noisy; a model no better than chance gets no say); 1 when not measured."""
        overall = self.reliability.get("__macro__", 1.0)
        return min(overall, self.reliability.get(finding, overall))

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


def any_scores(db: sqlite_utils.Database) -> bool:
    """Whether any model has scored any study yet."""
    return db.execute("SELECT 1 FROM scores LIMIT 1").fetchone() is not None


def latest_by_kind(db: sqlite_utils.Database, *, study_ids: Sequence[str] | None = None) -> list[ModelScores]:
    """For each model kind, the newest model that has scores, with all its scores (newest first);
    only those of ``study_ids`` when given (the chosen models are the same either way)."""
    models = db.execute(
        "SELECT m.id, m.version, m.kind, m.metrics FROM models m"
        " WHERE EXISTS (SELECT 1 FROM scores s WHERE s.model_id = m.id)"
        " ORDER BY m.id DESC"
    ).fetchall()
    chosen: dict[str, tuple[int, str, str, str]] = {}
    for model_id, version, kind, metrics in models:
        chosen.setdefault(kind, (int(model_id), version, kind, metrics))
    out = []
    for model_id, version, kind, metrics in chosen.values():
        by_study: dict[str, dict[str, float]] = {}
        sql = "SELECT study_id, finding, score FROM scores WHERE model_id = ?"
        params: list[Any] = [model_id]
        if study_ids is not None:
            sql += " AND study_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(study_ids)))
        for study_id, finding, score in db.execute(sql, params).fetchall():
            by_study.setdefault(study_id, {})[finding] = float(score)
        out.append(ModelScores(model_id, version, kind, by_study, _reliability(metrics)))
    return out


def _reliability(metrics: str | None) -> dict[str, float]:
    try:
        test = (json.loads(metrics or "{}") or {}).get("test_auc") or {}
    except (ValueError, AttributeError):
        return {}
    out: dict[str, float] = {}
    for name, auc in [("__macro__", test.get("macro")), *dict(test.get("findings") or {}).items()]:
        if isinstance(auc, int | float) and math.isfinite(auc):
            out[name] = min(1.0, max(0.0, 2.0 * (float(auc) - 0.5)))
    return out
