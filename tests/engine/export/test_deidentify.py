"""De-identification: identifiers planted in every PS3.15 basic-profile attribute dicognito handles
and in report text survive neither the curated export nor the way to a (loopback) LLM endpoint.

The report names the patient, dates, MRN, accession number, phones, e-mail and addresses, both
those in the DICOM headers and others only a pattern can catch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.datadict import keyword_dict

from radcurate.engine.demo.phantom import generate_cohort
from radcurate.engine.export.dataset_export import export_dataset, verify
from radcurate.engine.extraction import runner
from radcurate.engine.extraction.phi_guard import endpoint_is_local, should_scrub
from radcurate.engine.files.deidentify_text import Identifier, date_renderings, scrub
from radcurate.engine.project import Project

HEADER = {  # keyword → planted value (distinctive, so a hit anywhere is a leak)
    "PatientName": "Quixotefeld^Zebulonix^Amadeox",
    "PatientBirthName": "Marrowbone^Zebulonix",
    "PatientMotherBirthName": "Thistlewood^Gwendolyx",
    "OtherPatientNames": "Quillfeather^Zebby",
    "ReferringPhysicianName": "Brackwater^Ottolindra",
    "PerformingPhysicianName": "Vandersnoot^Cornelyx",
    "NameOfPhysiciansReadingStudy": "Halloran^Perpetuax",
    "OperatorsName": "Wigglesworth^Tobiaszek",
    "RequestingPhysician": "Fennimore^Augustrix",
    "PatientID": "MRN88412907",
    "OtherPatientIDs": "ALTID7730015",
    "AccessionNumber": "ACC55190342",
    "StudyID": "STUDY660913",
    "StationName": "STN7781QX",
    "RequestedProcedureID": "RPID4471902",
    "ScheduledProcedureStepID": "SPSID338810",
    "PerformedProcedureStepID": "PPSID552207",
    "PlacerOrderNumberImagingServiceRequest": "PLACER9034417",
    "FillerOrderNumberImagingServiceRequest": "FILLER7719023",
    "PatientAddress": "742 Evergreen Terrace^Springfield^MA^02115",
    "RegionOfResidence": "Westmarch County",
    "CountryOfResidence": "Freedonia",
    "InstitutionName": "Saint Quimby Memorial Hospital",
    "InstitutionAddress": "1 Hospital Plaza, Shelbyville",
    "PatientTelephoneNumbers": "617-555-0142",
    "Occupation": "Lighthouse keeper",
    "MilitaryRank": "Commodore Flotilla",
    "BranchOfService": "Coastal Rangers",
    "MedicalRecordLocator": "LOCATOR5561",
    "PatientReligiousPreference": "Pastafarian Reformed",
    "ResponsibleOrganization": "Quimby Trust Holdings",
    "CurrentPatientLocation": "Ward 7 Bed 3 East",
    "RequestingService": "Pulmonology Annex",
    "PatientBirthDate": "19470823",
    "StudyDate": "20230314",
    "SeriesDate": "20230314",
    "AcquisitionDate": "20230314",
    "ContentDate": "20230314",
    "AdditionalPatientHistory": "Smoker, lives with Gwendolyx",
    "PatientComments": "Prefers to be called Zeb",
    "ImageComments": "Scanned by Tobiaszek",
    "StudyDescription": "CT CHEST Quixotefeld",
    "SeriesDescription": "AXIAL Quixotefeld",
    "DeviceSerialNumber": "SN99811234",
}
REPORT = """PATIENT: Zebulonix Quixotefeld   MRN: MRN88412907   DOB: 08/23/1947
Accession # ACC55190342. Exam date: March 14, 2023 (2023-03-14). Referring: Dr. Ottolindra Brackwater.
Contact the patient at (617) 555-0142 or +1 212 555 0187, zeb.q@example.org. Home: 742 Evergreen Terrace,
Springfield, MA 02115. Second opinion from Dr. Philippix Gorringe (MRN: 99310277) on 3/14/2023.
FINDINGS: Bilateral pleural effusion. Cardiomegaly. No lung nodule.
IMPRESSION: Effusion, small. Electronically signed by: Perpetuax Halloran, MD
"""
TEXT_ONLY = ["Gorringe", "Philippix", "99310277", "zeb.q@example.org", "212 555 0187", "3/14/2023", "Brackwater"]


def _leaks(blob: str) -> list[str]:
    """Every planted value (names by part, dates in their renderings) found in ``blob``."""
    lower, found = blob.lower(), []
    for keyword, value in HEADER.items():
        if keyword.endswith("Date"):
            candidates = date_renderings(value)
        elif keyword.endswith("Name") or keyword in ("RequestingPhysician", "OtherPatientNames"):
            candidates = [p for p in value.split("^") if len(p) > 3]
        else:
            candidates = [value]
        found += [f"{keyword}={c}" for c in candidates if c.lower() in lower]
    found += [v for v in TEXT_ONLY if v.lower() in lower]
    return found


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("phi")
    cohort = generate_cohort(root / "cohort", cases=1, seed=2, shape=(16, 16, 8), dicom_fraction=1.0)
    folder = next(p for p in (cohort.out / "volumes").iterdir() if p.is_dir())
    uids: dict[str, str] = {}
    for f in sorted(folder.iterdir()):
        ds = pydicom.dcmread(f)
        for keyword, value in HEADER.items():
            assert keyword in keyword_dict, keyword
            setattr(ds, keyword, value)
        ds.add_new(0x00091010, "LO", "private Quixotefeld")  # a private element: removed
        ds.private_block(0x0011, "ACME 1.0", create=True).add_new(0x01, "LO", "ZEBULONIX-PRIVATE")
        for uid in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
            uids[f"{uid}:{f.name}"] = str(ds.get(uid, ""))
        ds.save_as(f)
    (root / "reports.csv").write_text("study_id,report_text\n" + f'ACC55190342,"{REPORT}"\n', encoding="utf-8")
    with Project.create(root / "project", preset="demo") as project:
        summary = project.import_paths([folder], reports=[root / "reports.csv"])
        assert project.study_ids() == ["ACC55190342"], summary
        project.extract("rules")
    return root, uids


def test_no_identifier_survives_the_dicom_export(
    planted: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, uids = planted
    monkeypatch.setenv("RADCURATE_PSEUDONYM_KEY", "test-key-1")  # dicognito's stand-in names are then fixed
    out = root / "export"
    with Project.open(root / "project") as project:
        summary = export_dataset(project, out, format="dicom")
    assert summary["deidentified"] and verify(out) == []
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".dcm" for p in files)
    for path in files:
        blob = path.read_bytes().decode("latin-1") + "\n" + str(path.relative_to(out))
        assert _leaks(blob) == [], path
        assert not [u for u in uids.values() if u and u in blob], path  # every UID remapped
        assert "ZEBULONIX-PRIVATE" not in blob and "private Quixotefeld" not in blob
    report = next((out / "reports").glob("*.txt")).read_text()
    assert "Bilateral pleural effusion. Cardiomegaly. No lung nodule." in report  # the clinical text reads as before
    headers = [pydicom.dcmread(p) for p in sorted(out.rglob("*.dcm"))]
    assert len({h.SeriesInstanceUID for h in headers}) == 1 and len({h.StudyInstanceUID for h in headers}) == 1
    assert all(h.PatientIdentityRemoved == "YES" and "DICOGNITO" in str(h.DeidentificationMethod) for h in headers)


def test_llm_endpoint_receives_only_scrubbed_text(planted: tuple[Path, dict[str, str]], llm_server) -> None:
    root, _ = planted
    with Project.open(root / "project") as project:
        plugin = runner.make_extractor(project, "llm", model="test-model", base_url=llm_server.base_url, timeout_s=5.0)
        summary = runner.run_extraction(project, plugin, phi_guard="always")
        job = project.job(summary.job)
    assert summary.labelled == 1 and llm_server.chat_requests == 1
    sent = [json.loads(body)["messages"][-1]["content"] for body in llm_server.received]
    assert len(sent) == 1 and _leaks(sent[0]) == []
    assert "Bilateral pleural effusion" in sent[0] and "[NAME]" in sent[0] and "[ID]" in sent[0]
    assert job.params.get("phi_guard") == "always" and not job.params.get("send_raw")


def test_send_raw_is_recorded_and_loopback_is_local(planted: tuple[Path, dict[str, str]], llm_server) -> None:
    root, _ = planted
    with Project.open(root / "project") as project:
        plugin = runner.make_extractor(project, "llm", model="raw-model", base_url=llm_server.base_url, timeout_s=5.0)
        summary = runner.run_extraction(project, plugin, source="raw", phi_guard="off")
        assert project.job(summary.job).params["send_raw"] is True
    assert "Quixotefeld" in json.loads(llm_server.received[-1])["messages"][-1]["content"]
    assert endpoint_is_local("http://127.0.0.1:8000/v1") and endpoint_is_local("http://localhost/v1")
    assert not endpoint_is_local("") and not endpoint_is_local("https://api.openai.com/v1")
    assert should_scrub("auto", "https://llm.hospital.example/v1") and not should_scrub("auto", "http://[::1]:9/v1")


def test_scrubber_patterns_keep_clinical_text() -> None:
    text = (
        "Seen 5 Mar 2021 and on 2021-03-05; phone 555-123-4567. A 93-year-old man, 12 Elm Street, Apt 4B. "
        "Nodule 12 mm in segment 6, 3.5 x 2.1 cm at T4-5, unchanged since 2019. SSN 123-45-6789."
    )
    result = scrub(text, [Identifier("NAME", "DOE^JANE")])
    assert "Nodule 12 mm in segment 6, 3.5 x 2.1 cm at T4-5, unchanged since 2019." in result.text
    for leaked in ("5 Mar 2021", "2021-03-05", "555-123-4567", "93-year-old", "12 Elm Street", "123-45-6789"):
        assert leaked not in result.text
    assert result.counts == {"DATE": 2, "PHONE": 1, "AGE 90+": 1, "ADDRESS": 1, "ID": 1}
    assert scrub("Jane Doe and DOE, JANE", [Identifier("NAME", "DOE^JANE")]).text == "[NAME] and [NAME], [NAME]"
