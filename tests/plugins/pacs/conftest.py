"""A real Orthanc holding real and phantom DICOM, shared by the PACS tests (one per session).

The corpus uploaded is kept on disk (``PacsCorpus.volumes``) so a test can import the very same
files from a folder and compare: the dcmqi 3-slice real CT (implicit VR), the first 6 slices of
the TotalSegmentator real CT (JPEG 2000; its empty Study/Series/SOP Instance/SOP Class UIDs
filled in, since no PACS stores an instance without them), and tiny phantom studies (one
RLE-compressed), one of them with its report as a Basic Text SR.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian, generate_uid

from tests.conftest import SHARED_DATA
from tests.plugins.pacs.orthanc_server import CLIENT_AET, PASSWORD, USER, OrthancServer, dicomweb_plugin, orthanc_binary

PHANTOM_CASES = 3
J2K_SLICES = 6  # of the 20: decoding 512x512 JPEG 2000 is most of each import's time
SR_TEXT = "FINDINGS: Small left pleural effusion. No lung nodule.\nIMPRESSION: Left pleural effusion."


@dataclass(frozen=True)
class PacsCorpus:
    server: OrthancServer
    volumes: Path  # the uploaded image files, one folder per series (what a folder import reads)
    study_uids: dict[str, str]  # name → StudyInstanceUID
    series: int  # CT series uploaded
    sr_study: str  # the study key (AccessionNumber) whose report is an SR on the PACS


def _real_series(out: Path) -> None:
    dcmqi = SHARED_DATA / "dicom-ct-3slice-dcmqi"
    shutil.copytree(dcmqi, out / "dcmqi", ignore=shutil.ignore_patterns("LICENSE*"))
    j2k = out / "totalseg-j2k"
    j2k.mkdir()
    study, series = generate_uid(entropy_srcs=["radcurate-pacs-j2k-study"]), generate_uid(entropy_srcs=["j2k-series"])
    for path in sorted((SHARED_DATA / "dicom-ct-series-j2k-totalsegmentator").glob("CT.*"))[:J2K_SLICES]:
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID  # empty in the dataset, set in the meta
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        ds.save_as(j2k / path.name, enforce_file_format=False)


def _sr_report(case_file: Path, out: Path) -> str:
    """A Basic Text SR in the phantom study of ``case_file``: the report as a PACS holds it."""
    ref = pydicom.dcmread(case_file, stop_before_pixels=True)
    ds = Dataset()
    ds.SOPClassUID = BasicTextSRStorage
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["radcurate-pacs-sr", ref.StudyInstanceUID])
    for key in ("StudyInstanceUID", "AccessionNumber", "PatientID", "PatientName", "StudyDate", "StudyTime"):
        setattr(ds, key, getattr(ref, key))
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["radcurate-pacs-sr-series", ref.StudyInstanceUID])
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "SR", 99, 1
    ds.ValueType, ds.CompletionFlag, ds.VerificationFlag = "CONTAINER", "COMPLETE", "VERIFIED"
    ds.ContentDate, ds.ContentTime = ref.StudyDate, "120000"
    title = Dataset()
    title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning = "18748-4", "LN", "Diagnostic imaging report"
    ds.ConceptNameCodeSequence = [title]
    items = []
    for heading, text in (line.split(": ", 1) for line in SR_TEXT.splitlines()):
        item = Dataset()
        item.RelationshipType, item.ValueType, item.TextValue = "CONTAINS", "TEXT", text
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = heading[:5], "99RC", heading.title()
        item.ConceptNameCodeSequence = [code]
        items.append(item)
    ds.ContentSequence = items
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out.mkdir(parents=True, exist_ok=True)
    ds.save_as(out / "report-sr.dcm", enforce_file_format=True)
    return str(ref.AccessionNumber)


@pytest.fixture(scope="session")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PacsCorpus]:
    """A running Orthanc (DICOMweb + DIMSE on loopback) holding the corpus; stopped after the session."""
    if orthanc_binary() is None or dicomweb_plugin() is None:
        pytest.skip(
            "Orthanc with its DICOMweb plugin is not installed (Debian: orthanc orthanc-dicomweb; "
            "scripts/system-deps.sh installs them)"
        )
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    from radcurate.engine.demo.phantom.cohort import generate_cohort

    root = tmp_path_factory.mktemp("pacs")
    volumes = root / "volumes"
    _real_series(volumes)
    cohort = root / "phantom"
    generate_cohort(
        cohort,
        PHANTOM_CASES,
        seed=7,
        shape=(16, 16, 8),
        spacing=(20.0, 20.0, 30.0),
        dicom_fraction=1.0,
        compressed_fraction=0.34,
    )
    for case in sorted((cohort / "volumes").iterdir()):
        shutil.copytree(case, volumes / case.name)
    first_case = sorted((volumes / sorted(p.name for p in (cohort / "volumes").iterdir())[0]).iterdir())[0]
    sr_study = _sr_report(first_case, root / "reports")
    server = OrthancServer(root / "orthanc")
    server.start()
    try:
        files = sorted(p for p in volumes.rglob("*") if p.is_file())
        assert server.upload(files) == len(files)
        assert server.upload([root / "reports" / "report-sr.dcm"]) == 1
        uids = {}
        for folder in sorted(volumes.iterdir()):
            first = pydicom.dcmread(next(folder.iterdir()), stop_before_pixels=True)
            uids[folder.name] = str(first.StudyInstanceUID)
        yield PacsCorpus(server, volumes, uids, series=len(uids), sr_study=sr_study)
    finally:
        server.kill()  # its storage is a temporary folder: no need for a graceful 3 s shutdown


@pytest.fixture
def pacs_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Orthanc test user's credentials, the way a site sets them: in the environment."""
    monkeypatch.setenv("RADCURATE_PACS_USER", USER)
    monkeypatch.setenv("RADCURATE_PACS_PASSWORD", PASSWORD)
    monkeypatch.delenv("RADCURATE_PACS_TOKEN", raising=False)


def pacs_settings(project, pacs: PacsCorpus, **changes) -> None:
    """Point the project's [pacs] settings at the test Orthanc (our AE title, its C-MOVE port), fast retries."""
    changes = {
        "calling_aet": CLIENT_AET,
        "move_port": pacs.server.move_port,
        "timeout_s": 10.0,
        "backoff_s": 0.05,
        "retries": 1,
        **changes,
    }
    project.settings = dataclasses.replace(project.settings, pacs=dataclasses.replace(project.settings.pacs, **changes))
