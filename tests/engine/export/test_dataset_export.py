"""`radcurate export-dataset`: a phantom project reviewed in part by two readers, exported and checked.

One small cohort (6 cases, half DICOM) is built once per module; two DICOM studies are given the
same PatientID so the patient-level split has something to keep together.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from radcurate.engine.demo.phantom import generate_cohort
from radcurate.engine.export.dataset_export import export_dataset, verify
from radcurate.engine.project import Project

SHARED_PATIENT = "PT-SHARED-01"


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("curated")
    cohort = generate_cohort(root / "cohort", cases=6, seed=5, shape=(16, 16, 8), compressed_fraction=0.0)
    dicom_cases = sorted(p for p in (cohort.out / "volumes").iterdir() if p.is_dir())[:2]
    for folder in dicom_cases:  # one patient, two studies
        for f in folder.iterdir():
            ds = pydicom.dcmread(f)
            ds.PatientID = SHARED_PATIENT
            ds.save_as(f)
    with Project.create(root / "project", preset="demo") as project:
        project.import_paths([cohort.out / "volumes"], reports=[cohort.out / "reports.csv"])
        project.extract("rules")
        ids = project.study_ids()
        # reader A and B agree on ids[0] / Cardiomegaly; disagree on ids[1] / Emphysema (left unresolved)
        # and on ids[2] / Lung nodule (adjudicated by C)
        project.decide(ids[0], "Cardiomegaly", "present", reader="A")
        project.decide(ids[0], "Cardiomegaly", "present", reader="B")
        project.decide(ids[1], "Emphysema", "present", reader="A")
        project.decide(ids[1], "Emphysema", "absent", reader="B")
        project.decide(ids[2], "Lung nodule", "present", reader="A")
        project.decide(ids[2], "Lung nodule", "absent", reader="B")
        project.adjudicate(ids[2], "Lung nodule", "absent", reader="C")
    return root


@pytest.fixture(scope="module")
def nifti_export(reviewed: Path) -> tuple[Path, dict]:
    out = reviewed / "export_nifti"
    with Project.open(reviewed / "project") as project:
        summary = export_dataset(project, out, seed=3, splits="0.5,0.25,0.25")
    return out, summary


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.mark.slow
def test_export_splits_provenance_hashes_and_monai(reviewed: Path, nifti_export: tuple[Path, dict]) -> None:
    out, summary = nifti_export
    with Project.open(reviewed / "project") as project:
        ids = project.study_ids()
        patients = {s: project.series(s)[0].metadata.get("patient_id") or s for s in ids}
    assert summary["counts"]["studies"] == 6 and summary["counts"]["patients"] == 5
    assert verify(out) == []  # every file listed, every sha256 matches
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["label_snapshot"]) == 64 and "README.md" in manifest["files"]

    rows = _jsonl(out / "labels.jsonl")
    assert len(rows) == 6 and len({r["study"] for r in rows}) == 6  # every study once
    assert not {r["study"] for r in rows} & set(ids)  # pseudonyms, not the original ids
    datalist = json.loads((out / "datalist.json").read_text())
    in_splits = [e["study"] for name in ("training", "validation", "test") for e in datalist[name]]
    assert sorted(in_splits) == sorted(r["study"] for r in rows)  # exactly one split each
    split_of_patient: dict[str, set[str]] = {}
    for r in rows:
        split_of_patient.setdefault(r["patient"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of_patient.values())  # no patient across splits
    shared = [r for s, r in zip(ids, rows, strict=True) if patients[s] == SHARED_PATIENT]
    assert len(shared) == 2 and len({r["patient"] for r in shared}) == 1 and len({r["split"] for r in shared}) == 1

    by_position = dict(enumerate(rows))  # the export keeps import order
    agreed = _finding(by_position[0], "Cardiomegaly")
    assert agreed["origin"] == "gold" and agreed["provenance"]["consensus"] == "agreed"
    assert [x["reader"] for x in agreed["provenance"]["readers"]] == ["A", "B"] and agreed["readers"] == {}
    open_ = _finding(by_position[1], "Emphysema")
    assert open_["origin"] == "unresolved" and open_["state"] is None and open_["target"] == -1
    assert open_["readers"] == {"A": "present", "B": "absent"}
    settled = _finding(by_position[2], "Lung nodule")
    assert settled["provenance"]["consensus"] == "adjudicated" and settled["provenance"]["adjudicator"] == "C"
    assert settled["state"] == "absent" and settled["readers"] == {"A": "present", "B": "absent", "C": "absent"}
    silver = _finding(by_position[3], "Pleural effusion")
    assert silver["origin"] == "silver" and silver["provenance"]["extractor"] == "rules"
    assert silver["provenance"]["version"]
    assert manifest["counts"]["adjudicated"] == 1 and manifest["counts"]["origins"]["unresolved"] == 1

    with (out / "labels.csv").open() as handle:
        long_rows = list(csv.DictReader(handle))
    assert len(long_rows) == 6 * 18 and {r["origin"] for r in long_rows} == {"gold", "unresolved", "silver"}

    from monai.data import load_decathlon_datalist

    for key in ("training", "validation", "test"):
        items = load_decathlon_datalist(str(out / "datalist.json"), is_segmentation=False, data_list_key=key)
        for item in items:
            assert Path(item["image"]).is_file() and Path(item["report"]).is_file() and len(item["label"]) == 18
    assert load_decathlon_datalist(str(out / "datalist.json"))  # the defaults read it as is too


def _finding(row: dict, name: str) -> dict:
    return next(f for f in row["findings"] if f["finding"] == name)


def test_export_is_atomic_and_refuses_a_full_folder(reviewed: Path) -> None:
    out = reviewed / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with Project.open(reviewed / "project") as project:
        from radcurate.engine.errors import InputError

        with pytest.raises(InputError, match="not empty"):
            export_dataset(project, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert not [p for p in reviewed.iterdir() if p.name.startswith(".partial-")]


@pytest.mark.slow
def test_cli_dicom_export_same_pseudonyms(reviewed: Path, nifti_export: tuple[Path, dict]) -> None:
    out = reviewed / "export_dicom"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "radcurate.engine.cli",
            "export-dataset",
            str(reviewed / "project"),
            str(out),
            "--format",
            "dicom",
            "--seed",
            "3",
            "--splits",
            "0.5,0.25,0.25",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["exporter"] == "dataset" and summary["format"] == "dicom"
    assert verify(out) == []
    rows = _jsonl(out / "labels.jsonl")
    assert {r["image_format"] for r in rows} == {"dicom", "nifti"}  # NIfTI sources stay NIfTI
    nifti_rows = _jsonl(nifti_export[0] / "labels.jsonl")
    assert [(r["study"], r["split"]) for r in rows] == [(r["study"], r["split"]) for r in nifti_rows]
    dicom = next(r for r in rows if r["image_format"] == "dicom")
    files = sorted((out / "volumes" / dicom["study"]).glob("*.dcm"))
    headers = [pydicom.dcmread(f) for f in files]
    assert {h.AccessionNumber for h in headers} == {dicom["study"]} and {h.PatientID for h in headers} == {
        dicom["patient"]
    }
    assert len({h.SeriesInstanceUID for h in headers}) == 1 and headers[0].PatientIdentityRemoved == "YES"


def test_default_split_keeps_the_split_training_recorded(reviewed: Path) -> None:
    from radcurate.engine.store.database import utc_now
    from radcurate.engine.store.decisions import write_transaction

    with Project.open(reviewed / "project") as project:
        patient = {s: project.series(s)[0].metadata.get("patient_id") or s for s in project.study_ids()}
        ids = [s for s in patient if list(patient.values()).count(patient[s]) == 1]  # patients with one study
        recorded = {ids[0]: "test", ids[2]: "val", ids[3]: "train"}
        with write_transaction(project.db) as conn:
            conn.execute("DELETE FROM splits")
            for study, split in recorded.items():
                conn.execute(
                    "INSERT INTO splits (study_id, patient, split, assigned_at) VALUES (?, ?, ?, ?)",
                    (study, study, split, utc_now()),
                )
        summary = export_dataset(project, reviewed / "export_recorded", deidentify=False)
    assert summary["splits"]["source"].startswith("recorded")
    rows = {r["study"]: r["split"] for r in _jsonl(reviewed / "export_recorded" / "labels.jsonl")}
    assert (rows[ids[0]], rows[ids[2]], rows[ids[3]]) == ("test", "validation", "training")
    assert len(rows) == 6
