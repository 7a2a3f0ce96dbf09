"""The patient-level train/val/test split, drawn once per project and recorded in the store.

Why patient level: two studies of one patient in train and test leak the patient's anatomy into
the test AUC. A study's patient is the DICOM ``PatientID`` its series carry (the loaders put it in
the series metadata as ``patient_id``), else the study id itself (NIfTI, phantom cases).

Why recorded: the locked test split is what "the AUC change after retraining" is measured on, so a
study must never move between splits when labels change or studies are added. A new study of a
patient already split joins that patient's split; a new patient is placed by a hash of
``(split_seed, patient)`` against the fractions in ``[training]`` (deterministic: two projects of
the same cohort get the same split). Rows are in the ``splits`` table (migration m005_learning).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlite_utils

from radcurate.engine.settings import TrainingSettings
from radcurate.engine.store.database import utc_now
from radcurate.engine.store.decisions import write_transaction

SPLITS = ("train", "val", "test")


def patient_ids(db: sqlite_utils.Database) -> dict[str, str]:
    """``{study: patient}``: the first series' DICOM PatientID where there is one, else the study id."""
    out = {sid: sid for (sid,) in db.execute("SELECT id FROM studies ORDER BY position").fetchall()}
    rows = db.execute(
        "SELECT study_id, json_extract(metadata, '$.patient_id') FROM series ORDER BY imported_at DESC, id DESC"
    ).fetchall()
    for study_id, patient in rows:  # oldest last, so the first-imported series wins
        if patient and str(patient).strip():
            out[study_id] = f"patient:{str(patient).strip()}"
    return out


def _draw(patient: str, settings: TrainingSettings) -> str:
    digest = hashlib.sha256(f"{settings.split_seed}:{patient}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < settings.test_fraction:
        return "test"
    if u < settings.test_fraction + settings.val_fraction:
        return "val"
    return "train"


def ensure_split(db: sqlite_utils.Database, settings: TrainingSettings) -> dict[str, str]:
    """``{study: split}`` for every study, recording a split for those that have none yet."""
    recorded = {s: (p, sp) for s, p, sp in db.execute("SELECT study_id, patient, split FROM splits").fetchall()}
    by_patient = {p: sp for p, sp in recorded.values()}
    new = []
    for study_id, patient in patient_ids(db).items():
        if study_id in recorded:
            continue
        split = by_patient.setdefault(patient, _draw(patient, settings))
        new.append((study_id, patient, split, utc_now()))
    if new:
        with write_transaction(db) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO splits (study_id, patient, split, assigned_at) VALUES (?, ?, ?, ?)", new
            )
    return {s: sp for s, sp in db.execute("SELECT study_id, split FROM splits").fetchall()}


def studies_in(split: dict[str, str], names: Iterable[str]) -> list[str]:
    """The studies of ``split`` whose split is one of ``names`` (in the dict's order)."""
    wanted = set(names)
    return [s for s, sp in split.items() if sp in wanted]
