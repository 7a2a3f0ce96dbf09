"""The training labels from the store, the recorded patient-level split and the label-snapshot hash."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from radcurate.engine.project import Project
from radcurate.engine.training import splits
from radcurate.engine.training.dataset import VolumeDataset, collate, label_table, snapshot_hash
from radcurate.engine.vocabulary import LabelState
from tests.engine.training.cohort import TINY_PREPROCESSING, TINY_TRAINING

pytest.importorskip("torch")


def test_targets_follow_gold_else_silver_masks_and_weights(cohort_dir: Path) -> None:
    with Project.open(cohort_dir) as project:
        settings = project.settings.training
        assert settings == TINY_TRAINING and project.settings.preprocessing == TINY_PREPROCESSING
        table = label_table(project, settings)
        assert table.findings == tuple(project.vocabulary)  # columns in vocabulary order, always
        study = table.study_ids[0]
        silver = project.silver(study)
        k = table.findings.index("Pleural effusion")
        expected = 1.0 if silver["Pleural effusion"].state is LabelState.PRESENT else 0.0
        assert table.labels[0, k] == expected and table.weight[0, k] == settings.silver_weight

        # A reader's decision overrides silver, with the gold weight; "uncertain" is masked by default.
        state = "absent" if expected else "present"
        project.decide(study, "Pleural effusion", state, reader="ann")
        project.decide(study, "Cardiomegaly", "uncertain", reader="ann")
        table = label_table(project, settings)
        c = table.findings.index("Cardiomegaly")
        assert table.labels[0, k] == 1.0 - expected and table.weight[0, k] == settings.gold_weight
        assert table.mask[0, c] == 0.0 and table.mask[0, k] == 1.0
        as_one = label_table(project, dataclasses.replace(settings, uncertain="1"))
        assert as_one.mask[0, c] == 1.0 and as_one.labels[0, c] == 1.0

        # Two readers disagreeing and nobody adjudicating: unresolved, masked (never guessed).
        project.decide(study, "Emphysema", "present", reader="ann")
        project.decide(study, "Emphysema", "absent", reader="bob")
        e = table.findings.index("Emphysema")
        assert label_table(project, settings).mask[0, e] == 0.0

        withheld = label_table(project, settings, withhold=["pleural effusion"])
        assert withheld.withheld == ("Pleural effusion",) and withheld.mask[:, k].sum() == 0
        assert withheld.mask.sum() > 0 and withheld.labels.shape == table.labels.shape


def test_snapshot_hash_is_exactly_the_labels_used(cohort_dir: Path) -> None:
    with Project.open(cohort_dir) as project:
        settings = project.settings.training
        first = snapshot_hash(label_table(project, settings), settings)
        assert snapshot_hash(label_table(project, settings), settings) == first
        study = project.study_ids()[3]
        current = project.silver(study)["Lung nodule"].state
        project.decide(study, "Lung nodule", current, reader="ann")  # same state, now gold: weight changes
        second = snapshot_hash(label_table(project, settings), settings)
        assert second != first
        flipped = "absent" if current is LabelState.PRESENT else "present"
        project.decide(study, "Lung nodule", flipped, reader="ann")
        assert snapshot_hash(label_table(project, settings), settings) not in (first, second)
        assert snapshot_hash(label_table(project, settings), dataclasses.replace(settings, uncertain="0")) != second


def test_split_is_patient_level_recorded_and_never_moves(cohort_dir: Path) -> None:
    with Project.open(cohort_dir) as project:
        db = project.db
        settings = project.settings.training
        # Two studies of one patient (same DICOM PatientID in their series metadata) share a split.
        a, b = project.study_ids()[:2]
        db.conn.execute(
            "UPDATE series SET metadata = ? WHERE study_id IN (?, ?)", (json.dumps({"patient_id": "P1"}), a, b)
        )
        first = splits.ensure_split(db, settings)
        assert set(first) == set(project.study_ids()) and first[a] == first[b]
        assert {"train", "val", "test"} <= set(first.values())
        counts = {name: list(first.values()).count(name) for name in ("train", "val", "test")}
        assert counts["train"] >= counts["val"] and counts["train"] >= counts["test"]
        # Recorded: other fractions later never move a study that already has its split.
        moved = splits.ensure_split(db, dataclasses.replace(settings, test_fraction=0.9, val_fraction=0.0))
        assert moved == first
        rows = db.execute("SELECT patient FROM splits WHERE study_id = ?", [a]).fetchone()
        assert rows[0] == "patient:P1"


def test_dataset_serves_the_task_batch(cohort_dir: Path) -> None:
    with Project.open(cohort_dir) as project:
        table = label_table(project, project.settings.training)
        train = VolumeDataset(project, table, train=True, seed=3)
        batch = collate([train[0], train[1]])
        assert tuple(batch["image"].shape) == (2, 2, 32, 32, 16)  # [B, C (one per HU window), X, Y, Z]
        assert tuple(batch["labels"].shape) == tuple(batch["mask"].shape) == (2, 18)
        assert batch["study_id"] == list(table.study_ids[:2]) and isinstance(batch["report"][0], str)
        assert len(batch["evidence"][0]) == 18
        again = VolumeDataset(project, table, train=True, seed=3)
        assert np.array_equal(train[0]["image"].numpy(), again[0]["image"].numpy())  # seeded crop + augmentation
        train.set_epoch(1)
        assert not np.array_equal(train[0]["image"].numpy(), again[0]["image"].numpy())  # a new epoch, new draws
        evaluation = VolumeDataset(project, table, train=False)
        assert np.array_equal(evaluation[0]["image"].numpy(), project.preprocessed(table.series_ids[0]))


def test_random_affine_is_seeded_keeps_the_shape_and_moves_anatomy() -> None:
    """The rotation/zoom augmentation: same seed, same volume (resume); a different seed moves the
    anatomy (not just the intensities); off at 0°/0 %."""
    from radcurate.engine.training.augmentation import augment

    image = np.full((2, 32, 32, 16), -1.0, np.float32)
    image[:, 8:24, 12:20, 4:12] = 1.0  # a block, off-centre in Y so a rotation about Z moves it
    a = augment(image, 7, rotate_deg=15.0, scale=0.1)
    assert a.shape == image.shape and a.dtype == np.float32
    assert np.array_equal(a, augment(image, 7, rotate_deg=15.0, scale=0.1))
    moved = [np.abs(augment(image, s, rotate_deg=15.0, scale=0.1) - image).max() > 0.5 for s in range(8)]
    assert sum(moved) >= 4  # most draws get the affine (AFFINE_PROB); a block edge moves by whole units
    still = [np.abs(augment(image, s) - image).max() for s in range(8)]
    assert max(still) < 0.5  # without the affine only intensity jitter remains (a few per cent)
