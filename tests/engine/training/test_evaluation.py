"""AUCs over labelled cells with bootstrap CIs, ``evaluate --json``, and the few-shot probe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from radcurate.engine.errors import InputError
from radcurate.engine.project import Project
from radcurate.engine.store import labels as label_store
from radcurate.engine.training import probe, splits
from radcurate.engine.training.metrics import bootstrap_cis, macro, masked_aucs, summary
from radcurate.engine.training.runs import TrainRequest, train

pytest.importorskip("monai")


def test_masked_cells_never_count_and_one_class_findings_leave_the_macro() -> None:
    labels = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]], dtype=np.float32)
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.5], [0.8, 0.3, 0.5], [0.1, 0.4, 0.5]], dtype=np.float32)
    mask = np.ones_like(labels)
    findings = ("A", "B", "C")
    aucs = masked_aucs(scores, labels, mask, findings)
    assert aucs == {"A": 1.0}  # B and C have one class only
    # A wrong score on a masked cell changes nothing (it is not a negative, it is not there).
    scores[0, 0], mask[0, 0] = 0.0, 0.0
    labels[1, 0] = 1.0
    mask[1, 0] = 0.0
    assert masked_aucs(scores, labels, mask, findings) == {"A": 1.0}
    ties = masked_aucs(np.full((4, 1), 0.5), np.array([[1], [0], [1], [0]]), None, ("T",))
    assert ties == {"T": 0.5} and np.isnan(macro({}))
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, (60, 1)).astype(np.float32)
    noisy = truth + rng.normal(0, 0.7, truth.shape)
    (lo, hi) = bootstrap_cis(noisy, truth, None, ("N",))["N"]
    value = masked_aucs(noisy, truth, None, ("N",))["N"]
    assert lo < value < hi and 0.05 < hi - lo < 0.5
    assert summary(noisy, truth, None, ("N",))["ci"]["N"] == [lo, hi]  # seeded: the same interval twice
    # The macro's interval: two findings, one separable and one noise; it holds the macro, and is
    # narrower than the noisy finding's own interval (averaging two findings halves the spread).
    both = np.concatenate([truth, truth[::-1]], axis=1)
    two = np.concatenate([noisy, rng.normal(0, 1, truth.shape)], axis=1)
    doc = summary(two, both, None, ("N", "R"))
    m_lo, m_hi = doc["macro_ci"]
    r_lo, r_hi = doc["ci"]["R"]
    assert m_lo < doc["macro"] < m_hi and m_hi - m_lo < r_hi - r_lo


def test_evaluate_json_on_another_project_and_the_probe(
    cohort_dir: Path, cohort_template: Path, tmp_path: Path
) -> None:
    from radcurate.engine.cli import learning_commands  # noqa: F401  (registers the commands)
    from radcurate.engine.cli.app import app

    with Project.open(cohort_dir) as project:
        model = train(project, TrainRequest(epochs=1))
        assert model is not None
    other = tmp_path / "other"
    shutil.copytree(cohort_template, other)
    result = CliRunner().invoke(
        app, ["evaluate", str(cohort_dir), model.version, "--on", str(other), "--reference", "truth", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["model"] == model.id and doc["kind"] == "supervised" and doc["studies"] == 16
    assert set(doc["auc"]) == {"macro", "findings", "ci", "macro_ci"}
    assert set(doc["auc"]["ci"]) <= set(doc["auc"]["findings"]) and doc["auc"]["findings"]
    assert doc["auc"]["macro"] == pytest.approx(np.mean(list(doc["auc"]["findings"].values())))
    for name, (lo, hi) in doc["auc"]["ci"].items():
        assert 0.0 <= lo <= hi <= 1.0, name
    with Project.open(other) as project:  # the truth it was scored against: only two-class findings
        states = label_store.states_by_study(project.db, "truth")
        for name in doc["auc"]["findings"]:
            assert len({states[s][name].value for s in states}) == 2

    # The test split by default (a handful of cases: wide intervals, which is the point of showing them).
    local = CliRunner().invoke(app, ["evaluate", str(cohort_dir), str(model.id), "--json"])
    assert local.exit_code == 0, local.output
    with Project.open(cohort_dir) as project:
        split = splits.ensure_split(project.db, project.settings.training)
        assert json.loads(local.stdout)["studies"] == len(splits.studies_in(split, ["test"]))

        # Probe: refused under 8 decided studies per class, then fitted on readers' decisions only.
        truth = label_store.states_by_study(project.db, "truth")
        seen = splits.studies_in(split, ["train", "val"])

        def balance(name: str) -> int:
            present = sum(truth[s][name].value == "present" for s in seen)
            return min(present, len(seen) - present)

        finding = max(project.vocabulary, key=balance)
        assert balance(finding) >= 2
        with pytest.raises(InputError, match="at least 8 decided studies"):
            train(project, TrainRequest(kind="probe", finding=finding, from_model=model.version))
        for study in seen:
            project.decide(study, finding, truth[study][finding], reader="ann")
        decided = probe.decided_studies(project, finding, split)
        assert set(decided) == set(splits.studies_in(split, ["train", "val"]))
        probe.MIN_PER_CLASS, saved = 2, probe.MIN_PER_CLASS
        try:
            fitted = train(project, TrainRequest(kind="probe", finding=finding, from_model=model.version))
        finally:
            probe.MIN_PER_CLASS = saved
        assert fitted is not None and fitted.kind == "probe" and fitted.parent == model.id
        assert set(project.scores(project.study_ids()[0])) == {finding}  # the newest model: the probe
    evaluated = CliRunner().invoke(app, ["evaluate", str(cohort_dir), fitted.version, "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["kind"] == "probe"
