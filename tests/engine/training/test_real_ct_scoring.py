"""Every real CT in ../shared/data is scored without error by a trained model (DICOM, JPEG 2000, NIfTI)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from radcurate.engine.project import Project
from radcurate.engine.training.runs import TrainRequest, train
from radcurate.engine.training.scoring import score_all

pytest.importorskip("monai")

REAL_CT = ("dicom-ct-3slice-dcmqi", "dicom-ct-series-j2k-totalsegmentator", "nifti-ct-totalsegmentator")


def test_a_trained_model_scores_every_real_ct(cohort_dir: Path, shared_data: Path) -> None:
    with Project.open(cohort_dir) as project:
        phantom_studies = set(project.study_ids())
        project.import_paths([shared_data / name for name in REAL_CT])
        real = [s for s in project.study_ids() if s not in phantom_studies]
        assert len(real) >= 4 and not project.quarantine("import")
        model = train(project, TrainRequest(epochs=1))  # the real studies have no labels: scored, not trained on
        assert model is not None and model.metrics["scored_studies"] == len(phantom_studies) + len(real)
        assert score_all(project, model.version) == 18 * (len(phantom_studies) + len(real))
        for study in real:
            scores = project.scores(study)
            assert len(scores) == 18 and all(0.0 <= v <= 1.0 and not math.isnan(v) for v in scores.values()), study
