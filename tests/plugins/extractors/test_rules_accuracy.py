"""Accuracy of the rule-based extractor against CT-RATE's manual labels (ctrate-gold-18, 600 reports).

The labels are binary, so the extractor's states map present → 1 and everything else → 0. The bar
is the project's quality target: macro-F1 ≥ 0.95 over the 18 findings and no finding below 0.85.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from radcurate.engine.vocabulary import CT_RATE_FINDINGS, LabelState, Vocabulary
from radcurate.plugins.extractors.rules.extractor import RuleBasedExtractor


@pytest.fixture(scope="module")
def ctrate(shared_data_module: Path) -> list[dict[str, str]]:
    with (shared_data_module / "ctrate-gold-18" / "reports_labels.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def shared_data_module() -> Path:
    folder = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    if not (folder / "ctrate-gold-18" / "reports_labels.csv").is_file():
        pytest.skip(f"ctrate-gold-18 not found under {folder} (see shared/data/MANIFEST.md)")
    return folder


def test_macro_f1_and_every_finding_on_ctrate_gold(ctrate: list[dict[str, str]]) -> None:
    vocabulary = Vocabulary.default()
    extractor = RuleBasedExtractor()
    gold = np.array([[int(row[f]) for f in CT_RATE_FINDINGS] for row in ctrate])
    predicted = np.zeros_like(gold)
    for i, row in enumerate(ctrate):
        text = row["report_text"]
        labels = extractor.extract(text, vocabulary)
        assert [label.finding for label in labels] == list(CT_RATE_FINDINGS)
        for j, label in enumerate(labels):
            predicted[i, j] = label.state is LabelState.PRESENT
            if label.state in (LabelState.PRESENT, LabelState.UNCERTAIN):
                assert label.evidence
            if label.evidence is not None:
                assert text[label.start : label.end] == label.evidence
    f1 = {f: f1_score(gold[:, j], predicted[:, j]) for j, f in enumerate(CT_RATE_FINDINGS)}
    kappa = {f: cohen_kappa_score(gold[:, j], predicted[:, j]) for j, f in enumerate(CT_RATE_FINDINGS)}
    assert len(ctrate) == 600
    assert np.mean(list(f1.values())) >= 0.95, f1
    assert min(f1.values()) >= 0.85, f1
    assert min(kappa.values()) >= 0.80, kappa


def test_normal_template_report_is_all_absent_or_unmentioned(ctrate: list[dict[str, str]]) -> None:
    """CT-RATE's normal template negates every finding it names; nothing may come out present."""
    normal = next(row for row in ctrate if row["AccessionNo"] == "train_1")
    labels = {
        label.finding: label.state
        for label in RuleBasedExtractor().extract(normal["report_text"], Vocabulary.default())
    }
    assert LabelState.PRESENT not in labels.values()
    absent = {f for f, state in labels.items() if state is LabelState.ABSENT}
    assert {"Pericardial effusion", "Pleural effusion", "Lymphadenopathy", "Lung nodule", "Cardiomegaly"} <= absent
