"""How well one label source agrees with a reference: per-finding precision, recall, F1, Cohen's κ.

Both sources are binarised the way training reads labels: ``present`` → 1, everything else
(``absent``, ``uncertain``, ``not_mentioned``) → 0 — which is also the only reading a binary
reference such as CT-RATE's supports. A finding is compared over the studies labelled by both
sources; ``support`` is the number of reference positives among them. ``reader:NAME`` stands for a
reader's current decisions, so ``--reference reader:A --candidate reader:B`` is the readers' κ and
F1 per finding on the studies both decided (DESIGN §4 Consensus). The metrics are
scikit-learn's; a metric that is undefined is ``None`` rather than a made-up 0 or 1 — precision
when the candidate has no positives, recall when the reference has none, F1 when neither has,
κ when both are constant and equal (chance agreement is already 1). Macro averages are unweighted
means over the findings where each metric is defined.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from radcurate.engine.errors import InputError
from radcurate.engine.store import labels as label_store
from radcurate.engine.store.decisions import reader_states
from radcurate.engine.vocabulary import LabelState

#: ``reader:A`` names a reader's current decisions instead of a label source (readers' agreement).
READER_PREFIX = "reader:"


@dataclass(frozen=True)
class FindingAgreement:
    precision: float | None
    recall: float | None
    f1: float | None
    kappa: float | None
    support: int
    studies: int

    def as_json(self) -> dict[str, Any]:
        return {
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "kappa": _round(self.kappa),
            "support": self.support,
        }


@dataclass(frozen=True)
class Agreement:
    """``agreement --json``: ``{"reference", "candidate", "findings": {...}, "macro": {...}, "studies"}``."""

    reference: str
    candidate: str
    findings: dict[str, FindingAgreement]
    studies: int

    @property
    def macro(self) -> dict[str, float | None]:
        compared = list(self.findings.values())

        def mean(values: list[float | None]) -> float | None:
            defined = [v for v in values if v is not None]
            return round(sum(defined) / len(defined), 4) if defined else None

        return {
            "precision": mean([f.precision for f in compared]),
            "recall": mean([f.recall for f in compared]),
            "f1": mean([f.f1 for f in compared]),
            "kappa": mean([f.kappa for f in compared]),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "candidate": self.candidate,
            "findings": {name: f.as_json() for name, f in self.findings.items()},
            "macro": self.macro,
            "studies": self.studies,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _defined(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _finding(truth: list[int], predicted: list[int]) -> FindingAgreement:
    from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics are reported as None below
        precision, recall, f1, _ = precision_recall_fscore_support(
            truth, predicted, average="binary", pos_label=1, labels=[0, 1], zero_division=math.nan
        )
        kappa = cohen_kappa_score(truth, predicted, labels=[0, 1])
    return FindingAgreement(
        _defined(precision), _defined(recall), _defined(f1), _defined(kappa), support=sum(truth), studies=len(truth)
    )


def _states(db: Any, name: str) -> dict[str, dict[str, LabelState]]:
    """A label source's current states, or a reader's current decisions for ``reader:NAME``."""
    if name.startswith(READER_PREFIX):
        reader = name[len(READER_PREFIX) :]
        states = reader_states(db, reader)
        if not states:
            raise InputError(f"reader {reader!r} has no current decisions in this project", field="reference")
        return states
    label_store.get_source(db, name)
    return label_store.states_by_study(db, name)


def agreement(project: Any, reference: str, candidate: str | None = None) -> Agreement:
    """Compare ``candidate`` (default: the most recently run extractor source) with ``reference``."""
    db = project.db
    truth_states = _states(db, reference)
    if candidate is None:
        candidate = label_store.latest_extractor_source(db)
        if candidate is None:
            raise InputError(
                "no extractor has labelled this project yet; run `radcurate extract` or name --candidate",
                field="candidate",
            )
    predicted_states = _states(db, candidate)
    common = [s for s in truth_states if s in predicted_states]
    if not common:
        raise InputError(f"no study has labels from both {reference!r} and {candidate!r}", field="reference")
    results: dict[str, FindingAgreement] = {}
    for finding in project.vocabulary:
        pairs = [
            (truth_states[s][finding], predicted_states[s][finding])
            for s in common
            if finding in truth_states[s] and finding in predicted_states[s]
        ]
        if pairs:
            results[finding] = _finding(
                [int(t is LabelState.PRESENT) for t, _ in pairs], [int(p is LabelState.PRESENT) for _, p in pairs]
            )
    return Agreement(reference, candidate, results, len(common))
