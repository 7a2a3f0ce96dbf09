"""Ingest of real volumes: shapes/spacings match the headers, re-import is a cheap no-op, moves and
edits after import are noticed, and a killed import keeps what it committed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from radcurate.engine.errors import InputError
from radcurate.engine.ingest import imports as ingest
from radcurate.engine.project import Project

DCMQI = "dicom-ct-3slice-dcmqi"
J2K = "dicom-ct-series-j2k-totalsegmentator"
NIFTI = "nifti-ct-totalsegmentator"


def radcurate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "radcurate.engine.cli", *args], capture_output=True, text=True)


def dicom_geometry(folder: Path) -> tuple[list[int], list[float]]:
    """Shape (X=columns, Y=rows, Z=slices) and spacing read straight from the headers with pydicom."""
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in folder.iterdir() if p.name.startswith(("CT", "0"))]
    z = sorted(float(ds.ImagePositionPatient[2]) for ds in headers)
    dz = float(np.median(np.diff(z))) if len(z) > 1 else float(headers[0].SliceThickness)
    first = headers[0]
    shape = [int(first.Columns), int(first.Rows), len(headers)]
    return shape, [float(first.PixelSpacing[1]), float(first.PixelSpacing[0]), dz]


def only_series(project: Project):
    (study,) = project.study_ids()
    (series,) = project.series(study)
    return series


def test_real_dicom_series_import_through_the_cli_with_header_geometry(tmp_path: Path, shared_data: Path) -> None:
    assert radcurate("init", str(tmp_path / "p"), "--preset", "demo").returncode == 0
    out = radcurate("import", str(tmp_path / "p"), str(shared_data / DCMQI), str(shared_data / J2K), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["imported"] == {"studies": 2, "series": 2, "reports": 0}
    assert doc["quarantined"] == [] and doc["unchanged"] == 0
    assert {Path(i["path"]).name for i in doc["ignored"]} == {"LICENSE", "LICENSE.txt"}
    with Project.open(tmp_path / "p") as project:
        by_folder = {Path(s.files[0]).parent.name: s for sid in project.study_ids() for s in project.series(sid)}
    for name in (DCMQI, J2K):
        shape, spacing = dicom_geometry(shared_data / name)
        series = by_folder[name]
        assert list(series.shape) == shape
        assert np.allclose(series.spacing, spacing, atol=1e-4), (name, series.spacing, spacing)
        assert series.orientation == "LPS" and series.modality == "CT" and len(series.files) == shape[2]
    assert by_folder[DCMQI].hu_min == -3024.0  # PixelPaddingValue -2000 rescaled, as the manifest says
    assert by_folder[J2K].metadata["transfer_syntax"] == "1.2.840.10008.1.2.4.90"
    again = radcurate("import", str(tmp_path / "p"), str(shared_data / DCMQI), str(shared_data / J2K), "--json")
    assert json.loads(again.stdout)["unchanged"] == 2 and json.loads(again.stdout)["imported"]["series"] == 0


def test_real_nifti_volumes_import_with_header_geometry(project: Project, shared_data: Path) -> None:
    nib = pytest.importorskip("nibabel")
    summary = project.import_paths([shared_data / NIFTI])
    assert (summary.studies, summary.series, summary.quarantined) == (2, 2, [])
    for file in sorted((shared_data / NIFTI).glob("*.nii.gz")):
        header = nib.load(file).header
        (series,) = project.series(file.name.removesuffix(".nii.gz"))  # study id = file stem
        assert list(series.shape) == [int(n) for n in header.get_data_shape()]
        assert np.allclose(series.spacing, header.get_zooms(), atol=1e-4)
        assert series.orientation == "LPS" and series.loader == "nifti"


def test_pydicom_bundled_ct_files_import(project: Project) -> None:
    ct_small = Path(get_testdata_file("CT_small.dcm"))
    ct5n = Path(get_testdata_file("dicomdirtests/98892001/CT5N/2062")).parent
    summary = project.import_paths([ct_small, ct5n])
    assert (summary.series, summary.quarantined) == (2, [])
    series = {len(s.files): s for sid in project.study_ids() for s in project.series(sid)}
    ds = pydicom.dcmread(ct_small)
    assert list(series[1].shape) == [ds.Columns, ds.Rows, 1]
    assert np.allclose(series[1].spacing[:2], [float(v) for v in ds.PixelSpacing])
    assert list(series[5].shape) == [16, 16, 5] and np.isclose(series[5].spacing[2], 2.5)


def test_reimport_hashes_but_never_decodes(project: Project, shared_data: Path, monkeypatch) -> None:
    project.import_paths([shared_data / DCMQI])
    loader = ingest.loader_named("dicom")

    def must_not_decode(source):
        raise AssertionError(f"re-import decoded {source.files[0]}")

    monkeypatch.setattr(loader, "load", must_not_decode)
    summary = project.import_paths([shared_data / DCMQI])
    assert (summary.unchanged, summary.series, summary.studies, summary.quarantined) == (1, 0, 0, [])


def test_reports_and_volumes_link_to_one_study(project: Project, shared_data: Path, tmp_path: Path) -> None:
    accession = str(pydicom.dcmread(shared_data / DCMQI / "01.dcm", stop_before_pixels=True).AccessionNumber)
    reports = tmp_path / "reports.csv"
    reports.write_text(f"AccessionNo,report_text\n{accession},Liver dome. No effusion.\n", encoding="utf-8")
    summary = project.import_paths([shared_data / DCMQI], reports=[reports])
    assert (summary.studies, summary.series, summary.reports) == (1, 1, 1)
    assert project.study_ids() == [accession]
    assert project.report(accession).text == "Liver dome. No effusion."
    assert only_series(project).study_id == accession


def test_load_volume_round_trips_and_notices_moved_or_edited_files(
    project: Project, shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ct"
    shutil.copytree(shared_data / DCMQI, folder)
    project.import_paths([folder])
    series = only_series(project)
    volume = project.load_volume(series.id)
    assert volume.checksum == series.checksum and volume.shape == (512, 512, 3)
    # Moved folder: the re-import recognises the bytes and follows the files.
    moved = tmp_path / "moved"
    folder.rename(moved)
    with pytest.raises(InputError) as err:
        project.load_volume(series.id)
    assert err.value.field == "files" and "missing" in err.value.reason
    assert project.import_paths([moved]).unchanged == 1
    assert project.load_volume(series.id).checksum == series.checksum
    # Edited pixels: the stored checksum no longer matches.
    ds = pydicom.dcmread(moved / "02.dcm")
    pixels = ds.pixel_array.copy()
    pixels[256, 256] += 100
    ds.PixelData = pixels.tobytes()
    ds.save_as(moved / "02.dcm")
    with pytest.raises(InputError) as err:
        project.load_volume(series.id)
    assert err.value.field == "checksum" and "changed since import" in err.value.reason
    assert err.value.path == str(moved)


def test_a_broken_loader_plugin_is_quarantined_by_name_and_the_others_go_on(
    project: Project, shared_data: Path, monkeypatch
) -> None:
    class Broken:
        name, version = "broken", "0"

        def discover(self, files):
            raise RuntimeError("boom")

        def load(self, source):  # pragma: no cover - never reached
            raise AssertionError

    real = ingest._working_loaders()
    monkeypatch.setattr(ingest, "_working_loaders", lambda: [Broken(), *real])
    summary = project.import_paths([shared_data / DCMQI])
    assert summary.series == 1
    (record,) = summary.quarantined
    assert record.field == "loader:broken" and "boom" in record.reason


KILL_AFTER_FIRST = """
import os, signal, sys
from radcurate.engine.project import Project
def progress(phase, done, total):
    if phase == "volumes" and done == 1:
        os.kill(os.getpid(), signal.SIGKILL)
with Project.open(sys.argv[1]) as project:
    project.import_paths(sys.argv[2:], progress=progress)
"""


def test_sigkill_mid_import_keeps_committed_series_and_resumes(tmp_path: Path, shared_data: Path) -> None:
    Project.create(tmp_path / "p", preset="demo").close()
    paths = [str(shared_data / DCMQI), str(get_testdata_file("CT_small.dcm"))]
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST, str(tmp_path / "p"), *paths])
    assert killed.returncode == -signal.SIGKILL
    with Project.open(tmp_path / "p") as project:
        assert project.status()["series"] == 1  # the first series was committed before the kill
        assert project.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        summary = project.import_paths(paths)
        assert (summary.unchanged, summary.series) == (1, 1)
    assert not [f for f in os.listdir(tmp_path / "p") if f.endswith(".tmp")]


@pytest.fixture(scope="module")
def phantom_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`radcurate phantom OUT --cases 16 --seed 1`: half DICOM series (some compressed), half NIfTI."""
    out = tmp_path_factory.mktemp("phantom") / "ph"
    made = radcurate("phantom", str(out), "--cases", "16", "--seed", "1")
    assert made.returncode == 0, made.stderr
    return out


def test_phantom_cohort_folder_imports_16_studies_and_reports_nothing_quarantined(
    tmp_path: Path, phantom_cohort: Path
) -> None:
    assert radcurate("init", str(tmp_path / "p"), "--preset", "demo").returncode == 0
    out = radcurate("import", str(tmp_path / "p"), str(phantom_cohort), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["imported"] == {"studies": 16, "series": 16, "reports": 16}
    assert doc["quarantined"] == []
    # One report table (reports.csv); truth tables, mention offsets and phantom.json are side files.
    assert doc["unchanged"] == 0
    ignored = {Path(i["path"]).name for i in doc["ignored"]}
    assert {"truth.csv", "report_truth.csv", "volumes.csv", "report_mentions.jsonl", "phantom.json"} <= ignored
    with Project.open(tmp_path / "p") as project:
        for study in project.study_ids():
            assert project.report(study) is not None and len(project.series(study)) == 1
        assert {s.loader for sid in project.study_ids() for s in project.series(sid)} == {"dicom", "nifti"}


def test_phantom_volumes_folder_plus_reports_option_gives_the_same_project(
    tmp_path: Path, phantom_cohort: Path
) -> None:
    assert radcurate("init", str(tmp_path / "p"), "--preset", "demo").returncode == 0
    out = radcurate(
        "import",
        str(tmp_path / "p"),
        str(phantom_cohort / "volumes"),
        "--reports",
        str(phantom_cohort / "reports.csv"),
        "--json",
    )
    doc = json.loads(out.stdout)
    assert doc["imported"] == {"studies": 16, "series": 16, "reports": 16}
    assert (doc["quarantined"], doc["unchanged"], doc["ignored"]) == ([], 0, [])
    with Project.open(tmp_path / "p") as project:
        checksums = {s.checksum for sid in project.study_ids() for s in project.series(sid)}
    with open(phantom_cohort / "volumes.csv", encoding="utf-8") as fh:
        expected = {line.rstrip("\n").split(",")[-1] for line in fh.readlines()[1:]}
    assert checksums == expected  # the loaders decode exactly the voxels the phantom wrote
