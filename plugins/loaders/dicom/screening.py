"""Is this file DICOM, and can it become part of a CT volume? Header-only answers.

Discovery and loading both call these, so a file is refused for the same reason whichever stage
meets it first. Each refusal is an :class:`InputError` naming the file and the DICOM keyword a
user would look at (Modality, SOPClassUID, TransferSyntaxUID, PixelData, ...).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import UID

from radcurate.engine.errors import InputError
from radcurate.plugins.loaders.dicom.values import number, text, texts

DICOM_MAGIC_OFFSET = 128
CT_IMAGE_STORAGE = {
    "1.2.840.10008.5.1.4.1.1.2": "CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.2.2": "Legacy Converted Enhanced CT Image Storage",
}
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
# A file without the 128-byte preamble ("raw" DICOM from old archives) starts with a tag of
# group 0x0002 (file meta) or 0x0008 (identifying) in little endian.
_RAW_GROUP_STARTS = (b"\x02\x00", b"\x08\x00")


def is_dicom_file(path: Path) -> bool | None:
    """True: has the DICM preamble. None: may be raw DICOM without one. False: not DICOM."""
    try:
        with open(path, "rb") as fp:
            head = fp.read(DICOM_MAGIC_OFFSET + 4)
    except OSError:
        return False
    if head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == b"DICM":
        return True
    return None if head[:2] in _RAW_GROUP_STARTS else False


def transfer_syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    return UID(str(meta.get("TransferSyntaxUID", "")) if meta is not None else "")


def sop_class(ds: Dataset) -> str:
    """SOPClassUID, falling back to the file meta's copy (some anonymisers blank the former)."""
    uid = text(ds, "SOPClassUID")
    meta = getattr(ds, "file_meta", None)
    if not uid and meta is not None:
        uid = str(meta.get("MediaStorageSOPClassUID", "") or "")
    return uid


def check_ct_image(
    ds: Dataset, path: str, *, file_size: int | None = None, header_end: int | None = None
) -> str | None:
    """Refuse anything that is not a CT image with pixel data; return a warning for a forgivable header.

    ``file_size`` and ``header_end`` (bytes read before the pixel data) let a header-only read
    tell a truncated file from one that simply has no pixels. A missing Modality is forgiven
    when the SOP Class says CT Image Storage (or Enhanced / Legacy Converted Enhanced CT): some
    anonymisers and converters drop it, and the SOP Class is the stronger statement.
    """
    truncated = file_size is not None and header_end is not None and header_end >= file_size
    sop = sop_class(ds)
    if sop == DICOMDIR_SOP_CLASS:
        raise InputError(
            "a DICOMDIR index, not an image; import the folder it indexes", path=path, field="MediaStorageSOPClassUID"
        )
    modality = text(ds, "Modality")
    note = None
    if not modality and sop in CT_IMAGE_STORAGE and not truncated:
        note = f"Modality is missing; read as CT because SOPClassUID is {CT_IMAGE_STORAGE[sop]}"
    elif not modality:
        hint = f" (the file ends after {file_size:,} bytes: truncated?)" if truncated else ""
        raise InputError(f"Modality is missing{hint}; radcurate imports CT only", path=path, field="Modality")
    elif modality != "CT":
        raise InputError(f"modality {modality} is not CT; radcurate imports CT only", path=path, field="Modality")
    if sop and sop not in CT_IMAGE_STORAGE:
        raise InputError(
            f"{UID(sop).name} is not a CT image (screenshot, dose report or other object?)",
            path=path,
            field="SOPClassUID",
        )
    image_type = [v.upper() for v in texts(ds, "ImageType")]
    if "LOCALIZER" in image_type:
        raise InputError("a localizer (scout) image, not part of a CT volume", path=path, field="ImageType")
    if truncated and "PixelData" not in ds:
        raise InputError(
            f"no pixel data: the file ends after {file_size:,} bytes of header (truncated?)",
            path=path,
            field="PixelData",
        )
    if "RescaleSlope" in ds and number(ds, "RescaleSlope", None) == 0:
        raise InputError("RescaleSlope is 0: every voxel would read the same HU", path=path, field="RescaleSlope")
    return note


@lru_cache(maxsize=64)
def _decoder(uid: UID) -> Any:
    return get_decoder(uid)


def check_decodable(ds: Dataset, path: str) -> None:
    """Refuse a transfer syntax whose pixel data no installed decoder can read."""
    uid = transfer_syntax(ds)
    if not uid:
        return  # pydicom infers it from the data, as dcmread already did
    if not uid.is_transfer_syntax:
        raise InputError(
            f"unknown transfer syntax {uid}: pydicom {pydicom.__version__} has no decoder for it",
            path=path,
            field="TransferSyntaxUID",
        )
    try:
        decoder = _decoder(uid)
    except NotImplementedError:
        raise InputError(
            f"no decoder exists for {uid.name} ({uid}) in pydicom {pydicom.__version__}; convert the "
            "files to an uncompressed or JPEG 2000 syntax first (e.g. dcmtk dcmdjpeg, gdcmconv --raw)",
            path=path,
            field="TransferSyntaxUID",
        ) from None
    if not decoder.is_available:
        needs = "; ".join(decoder.missing_dependencies) or "a decoder plugin"
        raise InputError(
            f"{uid.name} ({uid}) needs a decoder that is not installed: {needs}", path=path, field="TransferSyntaxUID"
        )


def expected_native_bytes(ds: Dataset) -> int | None:
    """Bytes of uncompressed pixel data the header promises, or None if compressed/unknown."""
    uid = transfer_syntax(ds)
    if uid and (not uid.is_transfer_syntax or uid.is_encapsulated or uid.is_deflated):
        return None
    rows, columns, bits = number(ds, "Rows"), number(ds, "Columns"), number(ds, "BitsAllocated")
    if not (rows and columns and bits):
        return None
    pixels = int(rows) * int(columns) * int(number(ds, "SamplesPerPixel", 1) or 1)
    pixels *= int(number(ds, "NumberOfFrames", 1) or 1)
    return (pixels * int(bits) + 7) // 8


def check_not_truncated(ds: Dataset, path: str, *, file_size: int, header_end: int) -> None:
    """Refuse uncompressed pixel data shorter than Rows × Columns × frames × BitsAllocated."""
    expected = expected_native_bytes(ds)
    if expected is None or header_end >= file_size:
        return
    uid = transfer_syntax(ds)
    implicit = uid.is_implicit_VR if uid else bool(getattr(ds, "original_encoding", (False,))[0])
    element_header = 8 if implicit else 12
    present = file_size - header_end - element_header
    if present < expected:
        raise InputError(
            f"truncated: the pixel data holds {max(present, 0):,} of the {expected:,} bytes that Rows, "
            "Columns and BitsAllocated promise",
            path=path,
            field="PixelData",
        )


def file_size(path: str | Path) -> int:
    return os.stat(path).st_size
