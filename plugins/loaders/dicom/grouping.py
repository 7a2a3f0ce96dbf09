"""Header-only scan of many files: which are DICOM CT, and which belong to one volume.

Files are grouped by SeriesInstanceUID. Some anonymisers blank it (the TotalSegmentator sample
series has empty Study and Series UIDs), so a file without one is grouped by
FrameOfReferenceUID plus in-plane geometry (orientation, pixel spacing, matrix size) instead:
slices of one reconstruction share all four, slices of different reconstructions rarely do.
A multi-frame file is a volume on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from radcurate.engine.contracts.plugins import Rejection, VolumeSource
from radcurate.engine.errors import InputError
from radcurate.plugins.loaders.dicom.geometry import SlicePlane, plane_from_attributes, stack_planes
from radcurate.plugins.loaders.dicom.multiframe import frame_planes, is_multiframe
from radcurate.plugins.loaders.dicom.screening import (
    check_ct_image,
    check_decodable,
    check_not_truncated,
    file_size,
    is_dicom_file,
    transfer_syntax,
)
from radcurate.plugins.loaders.dicom.values import number, text

# The elements a load reads from each file (pydicom parses only these before decoding pixels).
HEADER_KEYWORDS = [
    "SOPClassUID", "SOPInstanceUID", "Modality", "ImageType", "StudyInstanceUID", "SeriesInstanceUID",
    "FrameOfReferenceUID", "AccessionNumber", "PatientID", "SeriesDescription", "ImagePositionPatient",
    "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns", "SliceThickness", "SpacingBetweenSlices",
    "GantryDetectorTilt", "BitsAllocated", "SamplesPerPixel", "NumberOfFrames",
    "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence",
]  # fmt: skip


@dataclass(frozen=True)
class DicomFile:
    """What one file's header says about the volume it belongs to."""

    path: str
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str
    accession: str
    series_description: str
    sop_instance_uid: str
    planes: tuple[SlicePlane, ...]
    multiframe: bool
    slice_spacing: float | None

    def group_key(self) -> tuple:
        if self.multiframe:
            return ("multiframe", self.sop_instance_uid or self.path)
        if self.series_uid:
            return ("series", self.series_uid)
        return ("geometry", self.frame_of_reference_uid, *self._geometry())

    def _geometry(self) -> tuple:
        plane = self.planes[0]
        return (
            tuple(round(v, 4) for v in plane.orientation),
            tuple(round(v, 4) for v in plane.pixel_spacing),
            plane.rows,
            plane.columns,
        )


def slice_spacing_hint(ds: Dataset) -> float | None:
    """SpacingBetweenSlices, else SliceThickness: the only spacing a single slice can state."""
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        found = number(ds, keyword)
        if found and found > 0:
            return found
    return None


def describe_file(ds: Dataset, path: str) -> DicomFile:
    """Collect the facts of a dataset that passed :func:`check_ct_image`; raises InputError."""
    check_decodable(ds, path)
    multiframe = is_multiframe(ds)
    planes = frame_planes(ds, path) if multiframe else [plane_from_attributes(ds, path)]
    return DicomFile(
        path=path,
        study_uid=text(ds, "StudyInstanceUID"),
        series_uid=text(ds, "SeriesInstanceUID"),
        frame_of_reference_uid=text(ds, "FrameOfReferenceUID"),
        accession=text(ds, "AccessionNumber"),
        series_description=text(ds, "SeriesDescription"),
        sop_instance_uid=text(ds, "SOPInstanceUID"),
        planes=tuple(planes),
        multiframe=multiframe,
        slice_spacing=slice_spacing_hint(ds),
    )


def scan_file(path: Path) -> DicomFile | Rejection | None:
    """Read one header (no pixels). None: not DICOM (left unclaimed); Rejection: DICOM we refuse."""
    kind = is_dicom_file(path)
    if kind is False:
        return None
    name = str(path)
    try:
        with open(path, "rb") as fp:
            # No specific_tags: pydicom skips unwanted elements more slowly than it reads them.
            ds = pydicom.dcmread(fp, stop_before_pixels=True, force=kind is None)
            header_end = fp.tell()
    except Exception as exc:  # pydicom raises many types on corrupt headers
        return None if kind is None else Rejection(name, "header", f"unreadable DICOM header: {exc}")
    if kind is None and not text(ds, "Modality"):
        return None  # a raw-DICOM guess that did not pan out: not ours
    # A deflated dataset is read from an inflated copy: file offsets say nothing about truncation.
    size: int | None = None if transfer_syntax(ds).is_deflated else file_size(path)
    end: int | None = None if size is None else header_end
    try:
        check_ct_image(ds, name, file_size=size, header_end=end)
        if size is not None and end is not None:
            check_not_truncated(ds, name, file_size=size, header_end=end)
        return describe_file(ds, name)
    except InputError as exc:
        return Rejection(name, exc.field or "", exc.reason)


def study_key(first: DicomFile) -> str:
    """AccessionNumber, else StudyInstanceUID, else the folder name (links the volume to a report)."""
    return first.accession or first.study_uid or Path(first.path).parent.name


def series_key(first: DicomFile, key: tuple) -> str:
    if first.multiframe:
        return first.series_uid + (
            "/" + first.sop_instance_uid if first.series_uid else first.sop_instance_uid or first.path
        )
    if first.series_uid:
        return first.series_uid
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:16]
    return f"for:{digest}" if first.frame_of_reference_uid else f"geometry:{Path(first.path).parent.name}:{digest}"


def series_name(first: DicomFile | Dataset) -> str:
    """How messages name a series: its description if it has one."""
    described = first.series_description if isinstance(first, DicomFile) else text(first, "SeriesDescription")
    return f"series {described!r}" if described else "series"


def group_sources(files: Sequence[DicomFile], loader: str) -> tuple[list[VolumeSource], list[Rejection]]:
    """Group screened files into volume sources; a group that fails the geometry checks is rejected."""
    groups: dict[tuple, list[DicomFile]] = {}
    for f in files:
        groups.setdefault(f.group_key(), []).append(f)
    sources: list[VolumeSource] = []
    rejected: list[Rejection] = []
    for key, members in groups.items():
        first = members[0]
        planes = [p for m in members for p in m.planes]
        try:
            stack = stack_planes(planes, series=series_name(first), single_slice_spacing=first.slice_spacing)
        except InputError as exc:
            rejected.extend(Rejection(m.path, exc.field or "", exc.reason) for m in members)
            continue
        ordered = list(dict.fromkeys(p.path for p in stack.sorted_planes))
        count = f"{len(planes)} frames" if first.multiframe else f"{len(ordered)} files"
        sources.append(
            VolumeSource(
                loader=loader,
                files=tuple(ordered),
                study_key=study_key(first),
                series_key=series_key(first, key),
                description=f"{first.series_description or 'CT'} ({count})",
            )
        )
    return sources, rejected
