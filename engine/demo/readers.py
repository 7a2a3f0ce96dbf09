"""Scripted readers for ``radcurate demo``: two radiologists and an adjudicator, played from the phantom's truth.

They use the same engine calls the review app makes (``confirm`` a case, ``decide`` a finding,
``adjudicate`` a disagreement), so the demo exercises the real audit trail. Each reader reviews
a sample of studies against the phantom's image truth (``truth.csv``): a finding the image holds
becomes ``present``; a silver ``present`` or ``uncertain`` the image does not hold becomes
``absent``; everything else is confirmed as shown. Reader B overlooks some of the errors (a
realistic miss rate), so the two readers sometimes disagree and the adjudicator settles it.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radcurate.engine.project import Project
from radcurate.engine.vocabulary import LabelState

READER_A, READER_B, ADJUDICATOR = "dr_a", "dr_b", "dr_adjudicator"


@dataclass(frozen=True)
class ReaderPlan:
    """Who reads which studies and how often they overlook a silver error."""

    name: str
    studies: tuple[str, ...]
    miss_rate: float


def read_truth(path: Path) -> dict[str, dict[str, bool]]:
    """``{study: {finding: present in the image}}`` from a phantom cohort's ``truth.csv``."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["study_id"]: {k: v == "1" for k, v in row.items() if k != "study_id"} for row in rows}


def correct_state(shown: LabelState | None, present: bool) -> LabelState:
    """What a reader who sees the image records for a finding whose silver label is ``shown``."""
    if present:
        return LabelState.PRESENT
    if shown in (LabelState.PRESENT, LabelState.UNCERTAIN, None):
        return LabelState.ABSENT
    return shown


def plans(study_ids: Sequence[str], fraction: float, overlap: float) -> list[ReaderPlan]:
    """Reader A takes the first ``fraction`` of studies; B the last ``overlap`` of A's plus as many again."""
    n = max(2, int(len(study_ids) * fraction))
    a = tuple(study_ids[:n])
    shared = a[n - max(1, int(n * overlap)) :]
    b = shared + tuple(study_ids[n : n + len(shared)])
    return [ReaderPlan(READER_A, a, 0.0), ReaderPlan(READER_B, b, 0.25)]


def play_reader(project: Project, plan: ReaderPlan, truth: dict[str, dict[str, bool]], seed: int) -> dict[str, int]:
    """Review ``plan.studies``: one ``decide`` per corrected finding, then ``confirm`` for the rest."""
    rng = random.Random(f"{seed}-{plan.name}")
    corrected = confirmed = 0
    for study_id in plan.studies:
        if study_id not in truth:
            continue
        done = project.gold(study_id, reader=plan.name)
        silver = project.silver(study_id)
        shown = {f: lab.state for f, lab in silver.items()}
        for finding in project.vocabulary:
            if finding in done:
                continue
            right = correct_state(shown.get(finding), truth[study_id].get(finding, False))
            if right != shown.get(finding) and rng.random() >= plan.miss_rate:
                project.decide(study_id, finding, right, reader=plan.name, note="demo: checked against the image")
                corrected += 1
        made = project.confirm(study_id, shown, reader=plan.name)
        confirmed += len(made)
    return {"studies": len(plan.studies), "corrected": corrected, "confirmed": confirmed}


def adjudicate(project: Project, truth: dict[str, dict[str, bool]]) -> int:
    """Settle every readers' disagreement by the image truth; returns how many were settled."""
    from radcurate.engine.review import consensus

    settled = 0
    for label in consensus.unresolved(project.db):
        present = truth.get(label.study_id, {}).get(label.finding, False)
        states = [LabelState(s) for s in label.readers.values()]
        right = LabelState.PRESENT if present else next((s for s in states if s != LabelState.PRESENT), states[0])
        project.adjudicate(label.study_id, label.finding, right, reader=ADJUDICATOR, note="demo adjudication")
        settled += 1
    return settled


def play_readers(
    project: Project, truth_csv: Path, *, order: Sequence[str], fraction: float, seed: int
) -> dict[str, Any]:
    """Both readers over the first ``fraction`` of ``order`` (the ranked worklist), then the
    adjudicator; returns what each did (for the demo's summary)."""
    truth = read_truth(truth_csv)
    studies = [s for s in order if s in truth]
    out: dict[str, Any] = {}
    for plan in plans(studies, fraction, overlap=0.5):
        out[plan.name] = play_reader(project, plan, truth, seed)
    out[ADJUDICATOR] = {"settled": adjudicate(project, truth)}
    return out
