"""De-identified DICOM for a curated export: dicognito (PS3.15 basic profile) plus what it leaves.

dicognito replaces every person name, UID (consistently: one anonymizer per export, seeded from
the project's pseudonym key, so a series keeps one SeriesInstanceUID and a re-export maps the
same), date and time (shifted together, intervals kept), the patient and order IDs, addresses,
institution and station, and removes telephone numbers, occupation and the like. On top of it,
this module removes what the basic profile also lists and dicognito keeps — free-text comments
and histories, device serial numbers, private elements — and then stamps the export's own
pseudonyms: ``PatientID``/``PatientName`` = the patient pseudonym, ``AccessionNumber`` = the study
pseudonym (so the exported series re-import into radcurate against the exported labels).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radcurate.engine.errors import InputError

#: Basic-profile attributes (PS3.15 Table E.1-1, action X/Z/D) dicognito leaves in place.
REMOVED = (
    "AdditionalPatientHistory",
    "PatientComments",
    "ImageComments",
    "StudyComments",
    "RequestedProcedureComments",
    "InterpretationText",
    "MedicalAlerts",
    "Allergies",
    "EthnicGroup",
    "PatientBirthTime",
    "PatientState",
    "PregnancyStatus",
    "SpecialNeeds",
    "DeviceSerialNumber",
    "PlateID",
    "CassetteID",
    "GantryID",
    "DetectorID",
    "ProtocolName",
    "StudyDescription",
    "SeriesDescription",
    "PerformedProcedureStepDescription",
    "RequestedProcedureDescription",
    "ReasonForStudy",
    "ReasonForTheRequestedProcedure",
    "AdmittingDiagnosesDescription",
    "DerivationDescription",
    "TextString",
    "TextComments",
    "PersonAddress",
    "PersonTelephoneNumbers",
    "InstitutionAddress",
    "OtherPatientIDsSequence",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "IssuerOfAdmissionID",
    "AdmissionID",
    "ServiceEpisodeID",
    "ServiceEpisodeDescription",
)


def make_anonymizer(key: bytes) -> Any:
    """One dicognito anonymizer for the whole export (consistent UID and date remapping)."""
    try:
        from dicognito.anonymizer import Anonymizer
    except ImportError:
        raise InputError("de-identified DICOM export needs dicognito: pip install dicognito", field="format") from None
    return Anonymizer(seed=key.decode(errors="ignore"))


def _strip(ds: Any) -> None:
    ds.remove_private_tags()
    for keyword in REMOVED:
        if keyword in ds:
            delattr(ds, keyword)
    for element in list(ds):
        if element.VR == "SQ":
            for item in element.value:
                _strip(item)


def deidentify_series(files: Sequence[str], out_dir: Path, anonymizer: Any, *, study: str, patient: str) -> list[Path]:
    """Write de-identified copies of ``files`` into ``out_dir`` as ``0001.dcm`` …; returns the paths."""
    import pydicom
    from pydicom.dataset import Dataset

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, source in enumerate(sorted(files), start=1):
        try:
            ds = pydicom.dcmread(source)
        except Exception as exc:
            raise InputError(f"cannot read DICOM for export: {exc}", path=source) from None
        _strip(ds)
        anonymizer.anonymize(ds)
        ds.PatientID = patient
        ds.PatientName = patient
        ds.AccessionNumber = study
        ds.PatientIdentityRemoved = "YES"
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = (
            "113100",
            "DCM",
            "Basic Application Confidentiality Profile",
        )
        ds.DeidentificationMethodCodeSequence = [code]
        target = out_dir / f"{i:04d}.dcm"
        partial = target.with_name(f".partial-{target.name}")
        ds.save_as(partial, enforce_file_format=True)
        os.replace(partial, target)
        written.append(target)
    return written
