"""A patient-level, deterministic split of ctrate-gold-18 into a tuning part and a held-out part.

Why: the rule-based extractor's phrasing was chosen by reading these reports, so a score on all of
them is an in-sample figure. Rows are grouped so that nothing about one patient leaks across the
split: rows of the same CT-RATE patient (``train_17051_a`` and ``train_17051_b`` are patient
``train_17051``; see ``accession_to_ctrate.csv``) are one group, and rows whose report texts are
the same after whitespace/case normalisation join the same group too (CT-RATE repeats a few
texts). A row "not in CT-RATE" is grouped by its normalised text alone. Each group goes to the
held-out part when the sha256 of its key falls in the first third of the hash space, so the split
never changes with row order and needs no random seed.

Phrasing changes are to be tuned on :data:`TUNE` rows only; the accuracy test gates on
:data:`HELD_OUT` and prints the in-sample figure beside it.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radcurate.engine.vocabulary import CT_RATE_FINDINGS, LabelState, Vocabulary

TUNE, HELD_OUT = "tune", "held_out"
_HELD_OUT_FRACTION = 1 / 3


@dataclass(frozen=True)
class GoldRow:
    accession: str
    text: str
    labels: tuple[int, ...]  # 0/1 per finding, in CT_RATE_FINDINGS order
    part: str


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def _patient(name: str) -> str | None:
    m = re.match(r"^((?:train|valid)_\d+)", name.strip())
    return m.group(1) if m else None


def _part(key: str) -> str:
    digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16)
    return HELD_OUT if digest < _HELD_OUT_FRACTION * 0x1_0000_0000 else TUNE


def read_gold(folder: Path) -> list[GoldRow]:
    """All rows of ctrate-gold-18 under ``folder`` with the part each belongs to."""
    with (folder / "reports_labels.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "accession_to_ctrate.csv").open(encoding="utf-8", newline="") as handle:
        names = {r["AccessionNo"]: r["NameinCTRATE"] for r in csv.DictReader(handle)}
    # union-find over rows: same patient, or same normalised text
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        keys = [f"text:{normalised(row['report_text'])}"]
        patient = _patient(names.get(row["AccessionNo"], ""))
        if patient is not None:
            keys.append(f"patient:{patient}")
        for key in keys:
            j = first.setdefault(key, i)
            parent[find(i)] = find(j)
    group_key: dict[int, str] = {}
    for i, row in enumerate(rows):
        patient = _patient(names.get(row["AccessionNo"], ""))
        key = f"patient:{patient}" if patient else f"text:{normalised(row['report_text'])}"
        root = find(i)
        group_key[root] = min(group_key.get(root, key), key)  # one stable key per group
    return [
        GoldRow(
            row["AccessionNo"],
            row["report_text"],
            tuple(int(row[f]) for f in CT_RATE_FINDINGS),
            _part(group_key[find(i)]),
        )
        for i, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class Scores:
    n: int
    f1: dict[str, float]
    kappa: dict[str, float]

    @property
    def macro_f1(self) -> float:
        return float(np.mean(list(self.f1.values())))


def score(rows: list[GoldRow], predicted: dict[str, tuple[int, ...]]) -> Scores:
    """Per-finding F1 and Cohen's kappa of ``predicted`` (accession → 0/1 per finding) on ``rows``."""
    from sklearn.metrics import cohen_kappa_score, f1_score

    gold = np.array([r.labels for r in rows])
    pred = np.array([predicted[r.accession] for r in rows])
    f1 = {f: float(f1_score(gold[:, j], pred[:, j], zero_division=0.0)) for j, f in enumerate(CT_RATE_FINDINGS)}
    kappa = {f: float(cohen_kappa_score(gold[:, j], pred[:, j])) for j, f in enumerate(CT_RATE_FINDINGS)}
    return Scores(len(rows), f1, kappa)


def predict(extractor: object, rows: list[GoldRow]) -> dict[str, tuple[int, ...]]:
    """present → 1, every other state → 0 (the gold labels are binary)."""
    vocabulary = Vocabulary.default()
    out = {}
    for row in rows:
        labels = extractor.extract(row.text, vocabulary)  # type: ignore[attr-defined]
        out[row.accession] = tuple(int(label.state is LabelState.PRESENT) for label in labels)
    return out


def table(held_out: Scores, in_sample: Scores, title: str) -> str:
    """Per-finding F1, held-out beside in-sample, as plain text."""
    lines = [title, f"{'finding':38s} {'held-out':>9s} {'in-sample':>9s}"]
    for f in CT_RATE_FINDINGS:
        lines.append(f"{f:38s} {held_out.f1[f]:9.3f} {in_sample.f1[f]:9.3f}")
    lines.append(
        f"{'macro-F1 (n=' + str(held_out.n) + ' / ' + str(in_sample.n) + ')':38s} "
        f"{held_out.macro_f1:9.3f} {in_sample.macro_f1:9.3f}"
    )
    return "\n".join(lines)
