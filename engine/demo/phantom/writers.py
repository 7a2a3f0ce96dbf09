"""Write a phantom volume as a real DICOM CT series (one file per slice) or a NIfTI file.

DICOM: CT Image Storage IODs written with pydicom; stored value = HU + 1024 (RescaleIntercept
−1024, slope 1), unsigned 12-bit or signed 16-bit; ImageOrientationPatient ``[1,0,0, 0,1,0]``
so each slice's pixel array is ``(rows = Y, columns = X)`` = ``volume[:, :, k].T`` and
PixelSpacing is ``[Y spacing, X spacing]``; ImagePositionPatient rises with the array's z index
while InstanceNumber counts from the top (head first, like most scanners), and files are named
and written in a shuffled order: a loader must sort by position along the slice normal.
Some series are RLE Lossless or JPEG 2000 Lossless compressed. Every UID is derived from the
cohort seed and case id (``2.25.`` + a name-based UUID, ISO/IEC 9834-8), and dates are fixed, so
a seed always gives the same bytes.

NIfTI: ``int16`` HU, gzip, qform = sform = the voxel → RAS affine (nibabel's convention; RAS is
LPS with x and y negated). The array is stored either in LPS order (as the canonical Volume)
or flipped to RAS order, so readers must honour the affine.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
)

from radcurate.engine.demo.phantom.cases import CaseSpec

UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
COMPRESSED = (RLELossless, JPEG2000Lossless)
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://radcurate.invalid/phantom")  # fixed forever
_FIRST_STUDY = dt.date(2024, 1, 8)


def phantom_uid(seed: int, *parts: object) -> str:
    """A deterministic DICOM UID: ``2.25.<uuid5(seed, parts) as an integer>``."""
    name = "/".join(["radcurate-phantom", str(seed), *map(str, parts)])
    return f"2.25.{uuid.uuid5(_NAMESPACE, name).int}"


def _series_dataset(spec: CaseSpec) -> Dataset:
    """The attributes every slice of the series shares."""
    ds = Dataset()
    date = _FIRST_STUDY + dt.timedelta(days=spec.index)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = "093000"
    ds.AccessionNumber = spec.case_id
    ds.Modality = "CT"
    ds.Manufacturer = "radcurate phantom"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "CT CHEST"
    ds.SeriesDescription = "Phantom chest " + ("contrast" if spec.anatomy.contrast else "non-contrast")
    ds.PatientName = f"Phantom^{spec.case_id.split('_')[-1]}"
    ds.PatientID = f"PH{spec.seed}-{spec.index + 1:04d}"
    ds.PatientBirthDate = f"{date.year - spec.patient_age}0101"
    ds.PatientSex = spec.patient_sex
    ds.PatientAge = f"{spec.patient_age:03d}Y"
    ds.BodyPartExamined = "CHEST"
    ds.SliceThickness = f"{spec.spacing[2]:g}"
    ds.KVP = "120"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = phantom_uid(spec.seed, spec.case_id, "study")
    ds.SeriesInstanceUID = phantom_uid(spec.seed, spec.case_id, "series")
    ds.FrameOfReferenceUID = phantom_uid(spec.seed, spec.case_id, "frame")
    ds.StudyID = str(spec.index + 1)
    ds.SeriesNumber = 2
    ds.AcquisitionNumber = 1
    ds.PositionReferenceIndicator = ""
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [f"{spec.spacing[1]:g}", f"{spec.spacing[0]:g}"]  # row spacing (Y), column spacing (X)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = spec.shape[1], spec.shape[0]
    ds.BitsAllocated = 16
    ds.BitsStored = 16 if spec.signed_pixels else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if spec.signed_pixels else 0
    ds.WindowCenter, ds.WindowWidth = "-600", "1500"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    return ds


def write_dicom_series(hu: np.ndarray, spec: CaseSpec, folder: Path) -> list[Path]:
    """Write ``hu`` (int16, LPS (X, Y, Z)) as a CT series into ``folder`` (created atomically:
    built under a temporary name, then renamed). Returns the files, in the order written."""
    folder = Path(folder)
    partial = folder.with_name(f".partial-{folder.name}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    base = _series_dataset(spec)
    stored = (hu.astype(np.int32) + 1024).astype(np.int16 if spec.signed_pixels else np.uint16)
    n = spec.shape[2]
    order = np.random.default_rng([spec.seed, spec.index, 5]).permutation(n)
    syntax = spec.transfer_syntax or ExplicitVRLittleEndian
    written = []
    for name_number, k in enumerate(order):
        ds = Dataset()
        ds.update(base)
        sop = phantom_uid(spec.seed, spec.case_id, "slice", int(k))
        ds.SOPInstanceUID = sop
        ds.InstanceNumber = int(n - k)  # 1 = most superior slice
        position = spec.affine @ np.array([0.0, 0.0, float(k), 1.0])
        ds.ImagePositionPatient = [f"{c:.4f}".rstrip("0").rstrip(".") for c in position[:3]]
        ds.SliceLocation = f"{position[2]:.4f}".rstrip("0").rstrip(".")
        pixels = np.ascontiguousarray(stored[:, :, k].T)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = UID(sop)
        ds.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if syntax == ImplicitVRLittleEndian else ExplicitVRLittleEndian
        )
        ds.PixelData = pixels.tobytes()
        if syntax in COMPRESSED:
            ds.compress(syntax, pixels, generate_instance_uid=False)
        path = partial / f"{name_number + 1:04d}.dcm"  # file names say nothing about position
        ds.save_as(path, enforce_file_format=True)
        written.append(folder / path.name)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(partial, folder)
    return written


def nifti_affine_ras(spec: CaseSpec, axes: str) -> np.ndarray:
    """The voxel → RAS affine of the array as stored in the NIfTI file (``axes`` 'LPS' or 'RAS')."""
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ spec.affine
    if axes == "RAS":  # the stored array is flipped along x and y
        flip = np.eye(4)
        flip[0, 0], flip[1, 1] = -1.0, -1.0
        flip[0, 3], flip[1, 3] = spec.shape[0] - 1, spec.shape[1] - 1
        ras = ras @ flip
    return ras


def write_nifti(hu: np.ndarray, spec: CaseSpec, path: Path) -> Path:
    """Write ``hu`` (int16, LPS (X, Y, Z)) as ``path`` (.nii.gz), atomically."""
    import nibabel as nib

    path = Path(path)
    data = hu[::-1, ::-1, :] if spec.nifti_axes == "RAS" else hu
    affine = nifti_affine_ras(spec, spec.nifti_axes)
    image = nib.Nifti1Image(np.ascontiguousarray(data, dtype=np.int16), affine)
    header = image.header
    header.set_data_dtype(np.int16)
    header.set_xyzt_units("mm", "sec")
    header["descrip"] = f"radcurate phantom {spec.case_id}".encode()
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    partial = path.with_name(f".partial-{path.name}")
    nib.save(image, partial)
    os.replace(partial, path)
    return path
