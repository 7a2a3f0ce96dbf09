"""Review priority: the studies whose silver labels are most likely wrong come first (DESIGN §4 Ranking).

Each finding of a study not yet settled by readers contributes a weight in [0, 1] from:

* ``model``: the newest supervised model's score disagrees with the shown silver label,
  weight ``r·|y − p|`` (``y``: present → 1, absent / not mentioned → 0; uncertain → 0.5), where
  ``r = 2·(AUC − 0.5)`` from the model's test AUC (the finding's or the macro, the lower),
  clipped to [0, 1] (1 when not measured): a model no better than chance cannot push studies up;
* ``zero_shot``: the same against the newest CLIP model's zero-shot score, at half weight
  (zero-shot scores are the weaker witness);
* ``extractors``: another extractor labelled the same report text and reads the finding on the
  other side of present/not present (0.8), or only one of them says uncertain (0.3);
* ``uncertain``: the silver state itself is ``uncertain`` (0.5);
* ``flagged``: the extractor flagged its evidence, e.g. a quote not found in the report (0.7);
* ``readers``: readers disagree and nobody adjudicated yet (1.0, so it is settled soon).

A study's priority is its strongest finding's weight plus a tenth of the rest (one clear error
outranks many faint doubts; ties break on how many doubts). Findings a reader has decided carry
no silver-error weight (the silver label no longer matters for them). Each row keeps its reasons
(the finding, what the silver says, what the witness says), strongest first, so a reader sees
why the case is up. Studies already reviewed (every finding decided: by ``reader`` if given,
else by any reader) drop to the bottom in import order. Measured against random order by
``benchmarks/ranking.py``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from radcurate.engine.review.consensus import ProjectLabel, project_gold
from radcurate.engine.store import labels as label_store
from radcurate.engine.store import scores as score_store

WEIGHTS = {"extractors": 0.8, "extractors_uncertain": 0.3, "uncertain": 0.5, "flagged": 0.7, "readers": 1.0}
ZERO_SHOT_FACTOR = 0.5
REST_FACTOR = 0.1
#: Reasons weaker than this are kept out of the row's list (they still count in the priority).
SHOWN_REASON = 0.5
SILVER_VALUE = {"present": 1.0, "uncertain": 0.5, "absent": 0.0, "not_mentioned": 0.0}


@dataclass(frozen=True)
class Reason:
    """Why one finding of a study is doubted."""

    finding: str
    kind: str  # model | zero_shot | extractors | uncertain | flagged | readers
    weight: float
    silver: str | None = None  # the shown silver state
    score: float | None = None  # the model's / zero-shot score
    other: str | None = None  # the other extractor's state, the readers' states, or the flags

    def text(self) -> str:
        if self.kind in ("model", "zero_shot"):
            who = "model" if self.kind == "model" else "zero-shot"
            return f"{self.finding}: silver {self.silver} vs {who} {self.score:.2f}"
        if self.kind == "extractors":
            return f"{self.finding}: silver {self.silver} vs other extractor {self.other}"
        if self.kind == "readers":
            return f"{self.finding}: readers disagree ({self.other})"
        if self.kind == "flagged":
            return f"{self.finding}: evidence flagged ({self.other})"
        return f"{self.finding}: silver uncertain"

    def as_json(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "kind": self.kind,
            "weight": round(self.weight, 4),
            "silver": self.silver,
            "score": None if self.score is None else round(self.score, 4),
            "other": self.other,
            "text": self.text(),
        }


@dataclass(frozen=True)
class RankedStudy:
    """One worklist row: ``{"study", "priority", "reasons"}`` in ``worklist --json``."""

    study_id: str
    priority: float
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    reviewed: bool = False
    position: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "study": self.study_id,
            "priority": round(self.priority, 4),
            "reasons": [r.as_json() for r in self.reasons],
            "reviewed": self.reviewed,
        }


def _other_source(labels: dict[tuple[str, str], Any], study_id: str, shown: str, order: Sequence[str]) -> str | None:
    return next((s for s in order if s != shown and (study_id, s) in labels), None)


# A reason while ranking: (finding, kind, weight, silver, score, other) — a tuple, since a study's
# every finding makes some and only the shown ones become :class:`Reason` values.
_Doubt = tuple[str, str, float, str | None, float | None, str | None]


def _finding_reasons(
    finding: str,
    state: str,
    flags: list[str],
    other: str | None,
    witnesses: Sequence[tuple[str, float, float]],
) -> list[_Doubt]:
    reasons: list[_Doubt] = []
    y = SILVER_VALUE[state]
    for kind, score, trust in witnesses:
        factor = ZERO_SHOT_FACTOR if kind == "zero_shot" else 1.0
        reasons.append((finding, kind, factor * trust * abs(y - score), state, score, None))
    if other is not None and other != state:
        if (other == "present") != (state == "present") and "uncertain" not in (state, other):
            reasons.append((finding, "extractors", WEIGHTS["extractors"], state, None, other))
        elif "uncertain" in (state, other):
            reasons.append((finding, "extractors", WEIGHTS["extractors_uncertain"], state, None, other))
    if state == "uncertain":
        reasons.append((finding, "uncertain", WEIGHTS["uncertain"], state, None, None))
    if flags:
        reasons.append((finding, "flagged", WEIGHTS["flagged"], state, None, ", ".join(flags)))
    return reasons


def _priority(reasons: Sequence[_Doubt]) -> float:
    if not reasons:
        return 0.0
    per_finding: dict[str, float] = {}
    for r in reasons:
        per_finding[r[0]] = max(per_finding.get(r[0], 0.0), r[2])
    weights = sorted(per_finding.values(), reverse=True)
    return weights[0] + REST_FACTOR * sum(weights[1:])


def _extractor_labels(
    db: sqlite_utils.Database, study_ids: Sequence[str] | None = None
) -> dict[tuple[str, str], dict[str, tuple[str, list[str]]]]:
    """``{(study, source): {finding: (state, flags)}}`` for every current extractor label (of ``study_ids``)."""
    sql = (
        "SELECT l.study_id, l.source, l.finding, l.state, l.flags FROM silver_labels l"
        " JOIN label_sources s ON s.name = l.source LEFT JOIN reports r ON r.id = l.study_id"
        " WHERE s.kind = 'extractor' AND l.report_sha256 IS r.sha256"  # current: of the text as it is now
    )
    params: list[Any] = []
    if study_ids is not None:
        sql += " AND l.study_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(list(study_ids)))
    out: dict[tuple[str, str], dict[str, tuple[str, list[str]]]] = {}
    for study_id, source, finding, state, flags in db.execute(sql, params).fetchall():
        listed = [] if not flags or flags == "[]" else list(json.loads(flags))
        out.setdefault((study_id, source), {})[finding] = (state, listed)
    return out


@dataclass(frozen=True)
class RankingInputs:
    """What the ranking reads, for every study or for some: readers' gold, current extractor labels,
    the extractor sources (most recently run first) and the newest model of each kind."""

    gold: dict[str, dict[str, ProjectLabel]]
    labels: dict[tuple[str, str], dict[str, tuple[str, list[str]]]]
    order: list[str]
    models: list[score_store.ModelScores]


def load_inputs(
    db: sqlite_utils.Database, study_ids: Sequence[str] | None = None, *, use_models: bool = True
) -> RankingInputs:
    """The ranking's inputs for ``study_ids`` (None: every study)."""
    return RankingInputs(
        gold=project_gold(db, study_ids),
        labels=_extractor_labels(db, study_ids),
        order=label_store.source_names(db, "extractor"),  # most recently run first
        models=score_store.latest_by_kind(db, study_ids=study_ids) if use_models else [],
    )


def study_row(study_id: str, position: int, names: Sequence[str], inputs: RankingInputs) -> RankedStudy:
    """One study's priority and reasons (``reviewed`` is left False: it depends on the reader).

    The silver shown is that of the first source in ``inputs.order`` with current labels for the
    study: the rule of engine/review/silver.py (``shown_states``), read from the same label rows.
    """
    labels, order = inputs.labels, inputs.order
    decided = inputs.gold.get(study_id, {})
    reasons: list[_Doubt] = []
    for finding, label in decided.items():
        if label.origin == "unresolved":
            who = ", ".join(f"{r} {s}" for r, s in sorted(label.readers.items()))
            reasons.append((finding, "readers", WEIGHTS["readers"], None, None, who))
    source = next((s for s in order if (study_id, s) in labels), None)
    shown = labels.get((study_id, source), {}) if source else {}
    other_source = _other_source(labels, study_id, source, order) if source else None
    other = labels.get((study_id, other_source), {}) if other_source else {}
    scored = [
        (m, "zero_shot" if m.zero_shot else "model", m.scores[study_id]) for m in inputs.models if study_id in m.scores
    ]
    for finding in names:
        if finding in decided or finding not in shown:
            continue
        witnesses = [(kind, found[finding], m.weight(finding)) for m, kind, found in scored if finding in found]
        state, flags = shown[finding]
        other_state = other[finding][0] if finding in other else None
        reasons.extend(_finding_reasons(finding, state, flags, other_state, witnesses))
    reasons.sort(key=lambda r: -r[2])
    priority = _priority(reasons)
    kept = tuple(Reason(*r) for i, r in enumerate(reasons) if r[2] >= SHOWN_REASON or (i == 0 and r[2] > 0))
    return RankedStudy(study_id, priority, kept, False, position)


def review_order(rows: list[RankedStudy]) -> list[RankedStudy]:
    """Highest priority first, reviewed studies last in import order."""
    return sorted(rows, key=lambda r: (r.reviewed, -r.priority if not r.reviewed else 0.0, r.position))


def rank(
    db: sqlite_utils.Database,
    findings: Sequence[str],
    *,
    reader: str | None = None,
    limit: int | None = None,
    use_models: bool = True,
) -> list[RankedStudy]:
    """Every study in review order, computed now from the store: highest priority first, reviewed
    studies last (import order). The worklists read the same rows stored (engine/review/priorities.py).

    ``reader``: whose reviewed studies drop down (default: a study any reader has finished);
    ``use_models=False`` ranks by the doubts alone (the benchmark's "before a model").
    """
    names = list(findings)
    inputs = load_inputs(db, use_models=use_models)
    done = _reviewed(db, len(names), reader)
    rows = []
    for position, (study_id,) in enumerate(db.execute("SELECT id FROM studies ORDER BY position").fetchall()):
        row = study_row(study_id, position, names, inputs)
        rows.append(dataclasses.replace(row, reviewed=True) if study_id in done else row)
    rows = review_order(rows)
    return rows[:limit] if limit is not None else rows


def _reviewed(db: sqlite_utils.Database, findings: int, reader: str | None) -> set[str]:
    """Studies with a current decision for every finding (by ``reader``, else by some reader)."""
    sql = "SELECT study_id, reader, count(*) FROM gold_labels"
    params: list[Any] = []
    if reader is not None:
        sql += " WHERE reader = ?"
        params.append(reader)
    rows = db.execute(sql + " GROUP BY study_id, reader", params).fetchall()
    return {study_id for study_id, _, n in rows if int(n) >= findings}


def priorities(db: sqlite_utils.Database, findings: Sequence[str], *, reader: str | None = None) -> dict[str, float]:
    """``{study: priority}`` for the desktop worklist (engine/review/worklist.py sorts by it).

    Empty until a model has scored the project: the desktop keeps import order until then (its
    worklist contract), while ``radcurate worklist`` ranks by doubts alone from the start.
    """
    if not score_store.any_scores(db):
        return {}
    return {r.study_id: r.priority for r in rank(db, findings, reader=reader)}
