"""The project's gold label per study and finding, from several readers (DESIGN §4 Consensus).

Each reader's gold is their latest current decision (the ``gold_labels`` view: made against the
report text as it is now). The project's gold for a finding is, in order:

1. ``adjudicated``: the latest current decision of kind ``adjudicate`` (``radcurate adjudicate``);
2. ``agreed``: the state every reader who decided it gave (one reader counts as agreement);
3. otherwise ``unresolved``: listed with each reader's state, never guessed.

:func:`effective_labels` is what training, ranking and export read: the project's gold where
readers decided, else the shown silver label (:mod:`radcurate.engine.review.silver`); an
unresolved disagreement has no state (training masks it) until someone adjudicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from radcurate.engine.review.silver import shown_states
from radcurate.engine.vocabulary import LabelState

ORIGINS = ("adjudicated", "agreed", "unresolved", "silver")


@dataclass(frozen=True)
class ProjectLabel:
    """One finding of one study as the project knows it now.

    ``state`` is ``None`` only for ``unresolved``; ``readers`` maps each reader to their current
    state (empty for ``silver``); ``source`` names the silver label source for ``silver`` and the
    adjudicator for ``adjudicated``.
    """

    study_id: str
    finding: str
    state: LabelState | None
    origin: str
    readers: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    @property
    def is_gold(self) -> bool:
        return self.origin in ("adjudicated", "agreed")

    def as_json(self) -> dict[str, Any]:
        return {
            "study": self.study_id,
            "finding": self.finding,
            "state": self.state.value if self.state else None,
            "origin": self.origin,
            "readers": dict(self.readers),
            "source": self.source,
        }


def _reader_rows(db: sqlite_utils.Database, study_ids: Iterable[str] | None) -> list[tuple[str, str, str, str, str]]:
    sql = (
        "SELECT g.study_id, g.finding, g.reader, g.state, d.kind FROM gold_labels g "
        "JOIN decisions d ON d.id = g.decision_id"
    )
    if study_ids is None:
        return db.execute(sql + " ORDER BY g.decision_id").fetchall()
    wanted = json.dumps(sorted(set(study_ids)))  # filtered in SQL: a study's refresh reads only its rows
    return db.execute(
        sql + " WHERE g.study_id IN (SELECT value FROM json_each(?)) ORDER BY g.decision_id", [wanted]
    ).fetchall()


def project_gold(
    db: sqlite_utils.Database, study_ids: Iterable[str] | None = None
) -> dict[str, dict[str, ProjectLabel]]:
    """``{study: {finding: ProjectLabel}}`` for every finding some reader decided (adjudicated,
    agreed or unresolved); findings nobody decided are absent."""
    by_key: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    for study_id, finding, reader, state, kind in _reader_rows(db, study_ids):
        by_key.setdefault((study_id, finding), {})[reader] = (state, kind)
    out: dict[str, dict[str, ProjectLabel]] = {}
    for (study_id, finding), decided in by_key.items():
        readers = {r: s for r, (s, _) in decided.items()}
        adjudicators = [r for r, (_, k) in decided.items() if k == "adjudicate"]
        if adjudicators:
            who = adjudicators[-1]  # rows come in decision order: the latest adjudication wins
            label = ProjectLabel(study_id, finding, LabelState(readers[who]), "adjudicated", readers, who)
        elif len(set(readers.values())) == 1:
            label = ProjectLabel(study_id, finding, LabelState(next(iter(readers.values()))), "agreed", readers)
        else:
            label = ProjectLabel(study_id, finding, None, "unresolved", readers)
        out.setdefault(study_id, {})[finding] = label
    return out


def unresolved(db: sqlite_utils.Database) -> list[ProjectLabel]:
    """Readers' disagreements nobody has adjudicated yet, in decision order."""
    return [lab for study in project_gold(db).values() for lab in study.values() if lab.origin == "unresolved"]


def effective_labels(db: sqlite_utils.Database, findings: Iterable[str]) -> dict[str, dict[str, ProjectLabel]]:
    """Every study's label per finding: the project's gold where readers decided, else the shown silver.

    Only current labels and decisions count (stale ones, made against an earlier report text, are
    never used). Studies with neither a silver label nor a decision are absent; a finding with
    neither is absent from its study.
    """
    names = list(findings)
    gold = project_gold(db)
    silver = shown_states(db)
    out: dict[str, dict[str, ProjectLabel]] = {}
    for study_id in db.execute("SELECT id FROM studies ORDER BY position").fetchall():
        sid = study_id[0]
        decided, (source, states) = gold.get(sid, {}), silver.get(sid, (None, {}))
        row: dict[str, ProjectLabel] = {}
        for name in names:
            if name in decided:
                row[name] = decided[name]
            elif name in states:
                row[name] = ProjectLabel(sid, name, LabelState(states[name]), "silver", {}, source)
        if row:
            out[sid] = row
    return out
