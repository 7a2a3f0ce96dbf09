"""The bad-input corpus in one batch: each bad item ends in quarantine naming its file and field,
nothing crashes, and the good volumes and reports of the same batch are imported (DESIGN §9)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from radcurate.engine.project import Project
from tests.plugins.loaders.dicom_corpus import BAD_INPUTS, write_ct_series

QUARANTINED = {"unclaimed", "rejected", "load_error"}


def radcurate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "radcurate.engine.cli", *args], capture_output=True, text=True)


def inside(path: str, folder: Path) -> bool:
    return Path(path) == folder or folder in Path(path).parents


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One folder per bad input, a good series, a real series, bad report rows; imported once via the CLI."""
    root = tmp_path_factory.mktemp("batch")
    data = root / "data"
    for bad in BAD_INPUTS:
        bad.write(data / bad.name)
    write_ct_series(data / "good", name="good")
    (data / "good" / "LICENSE").write_text("Apache-2.0\n", encoding="utf-8")  # a side file: ignored
    real = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dicom-ct-3slice-dcmqi"
    if real.is_dir():
        shutil.copytree(real, data / "real")
    reports = root / "reports.csv"
    reports.write_bytes(
        b"study_id,report_text\n"
        b"r_good,Small left pleural effusion.\n"
        b'r_empty,""\n'
        b"r_latin1,Cardiom\xe9galie.\n"
        b"r_good2,No nodule.\n"
    )
    assert radcurate("init", str(root / "p"), "--preset", "demo").returncode == 0
    out = radcurate("import", str(root / "p"), str(data), "--reports", str(reports), "--json")
    assert out.returncode == 0, out.stderr  # bad items never fail the batch
    assert "Traceback" not in out.stderr
    return {"doc": json.loads(out.stdout), "data": data, "reports": reports, "project": root / "p", "real": real}


@pytest.mark.parametrize("bad", [b for b in BAD_INPUTS if b.outcome in QUARANTINED], ids=lambda b: b.name)
def test_each_bad_volume_is_quarantined_with_file_and_field(batch: dict, bad) -> None:
    folder = batch["data"] / bad.name
    records = [q for q in batch["doc"]["quarantined"] if inside(q["path"], folder)]
    assert records, f"{bad.name}: nothing quarantined"
    field = bad.field or "file"  # an unclaimed file is quarantined by the ingest itself
    assert {q["field"] for q in records} == {field}, records
    assert all(q["reason"].strip() for q in records)
    named = [q for q in records if Path(q["path"]).is_file()]
    assert named or bad.outcome == "load_error", f"{bad.name}: no record names a file: {records}"


def test_good_volumes_of_the_same_batch_are_imported(batch: dict) -> None:
    with Project.open(batch["project"]) as project:
        series = [s for sid in project.study_ids() for s in project.series(sid)]
    by_folder: dict[str, list] = {}
    for s in series:
        by_folder.setdefault(Path(s.files[0]).parent.name, []).append(s)
    assert [s.shape for s in by_folder["good"]] == [(128, 128, 5)]
    if batch["real"].is_dir():
        assert [s.shape for s in by_folder["real"]] == [(512, 512, 3)]
    # Identical duplicate slices: the series imports from the unique slices and the extra file is
    # set aside in quarantine, naming it; two series in one folder are split, not blended.
    (duplicate,) = by_folder["duplicate_slices"]
    assert duplicate.shape == (128, 128, 5) and duplicate.metadata["warnings"]
    set_aside = [q for q in batch["doc"]["quarantined"] if inside(q["path"], batch["data"] / "duplicate_slices")]
    assert len(set_aside) == 1 and set_aside[0]["field"] == "ImagePositionPatient"
    assert Path(set_aside[0]["path"]).is_file() and "duplicate slice" in set_aside[0]["reason"]
    assert sorted(s.shape for s in by_folder["two_series_mixed"]) == [(128, 128, 3), (128, 128, 3)]
    assert not [q for q in batch["doc"]["quarantined"] if inside(q["path"], batch["data"] / "good")]
    ignored = {str(Path(i["path"]).relative_to(batch["data"])) for i in batch["doc"]["ignored"]}
    assert ignored == ({"good/LICENSE", "real/LICENSE.txt"} if batch["real"].is_dir() else {"good/LICENSE"})


def test_bad_report_rows_are_quarantined_and_good_rows_imported(batch: dict) -> None:
    records = [q for q in batch["doc"]["quarantined"] if q["path"] == str(batch["reports"])]
    assert [(q["field"], q["reason"].split(":")[0]) for q in records] == [
        ("report_text", "row 2 (line 3)"),
        ("report_text", "row 3 (line 4)"),
    ]
    assert "empty report" in records[0]["reason"] and "not valid UTF-8 (byte 0xe9)" in records[1]["reason"]
    with Project.open(batch["project"]) as project:
        assert project.report("r_good").text == "Small left pleural effusion."
        assert project.report("r_good2").text == "No nodule."
        assert project.report("r_empty") is None and project.report("r_latin1") is None


def test_quarantine_command_lists_every_record_with_stage_and_time(batch: dict) -> None:
    out = radcurate("quarantine", str(batch["project"]), "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert len(listed) == len(batch["doc"]["quarantined"])
    assert {r["stage"] for r in listed} == {"import", "reports"}
    assert all(r["time"] and r["path"] and r["reason"] for r in listed)
    only_reports = json.loads(radcurate("quarantine", str(batch["project"]), "--stage", "reports", "--json").stdout)
    assert len(only_reports) == 2
    table = radcurate("quarantine", str(batch["project"]))
    assert table.returncode == 0 and f"{len(listed)} quarantined" in table.stdout
