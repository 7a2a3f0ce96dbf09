"""Writers of small DICOM inputs, good and bad, for loader and ingest tests.

Every writer takes a folder, writes a few files into it (names prefixed by the writer, so
several writers can share one folder) and returns the paths it wrote. All are built offline from
pydicom's bundled ``CT_small.dcm`` (128×128 CT, 0.661 mm pixels) and ``MR_small.dcm``, with
deterministic UIDs, so a test can write them into ``tmp_path`` in milliseconds.

:data:`BAD_INPUTS` lists each bad input with what the DICOM loader is expected to do with it:
``outcome`` is "unclaimed" (not DICOM: the ingest quarantines it as not a recognised volume),
"rejected" (discovery refuses the files), "load_error" (discovery groups the files but ``load``
raises InputError), "warning" (loads, with a warning saying ``says``), "resampled" (loads onto a
regular grid, with a warning saying ``says`` and the original geometry recorded) or "split"
(becomes several sources); ``field`` is the DICOM keyword the Rejection/InputError names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, RLELossless, generate_uid

SPACING_MM = 2.5  # slice step of the series written here
UNDECODABLE_SYNTAX = UID("1.2.840.10008.1.2.4.65")  # JPEG Lossless, Hierarchical: no decoder exists


def _template(name: str = "CT_small.dcm") -> Dataset:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom's bundled {name} is missing"
    return pydicom.dcmread(path)


def _uid(*parts: object) -> UID:
    return generate_uid(entropy_srcs=["radcurate-test-corpus", *map(str, parts)])


def _slice(template: Dataset, *, series: str, index: int, z: float, offset: int = 0, x: float | None = None) -> Dataset:
    ds = template.copy()
    ds.SeriesInstanceUID = _uid(series, "series")
    ds.StudyInstanceUID = _uid(series, "study")
    ds.FrameOfReferenceUID = _uid(series, "for")
    ds.SOPInstanceUID = _uid(series, index, z, offset)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesDescription = series
    ds.InstanceNumber = 100 - index  # counts against the positions: sorting must not use it
    position = [float(v) for v in template.ImagePositionPatient]
    ds.ImagePositionPatient = [position[0] if x is None else x, position[1], z]
    ds.SliceLocation = z
    ds.SliceThickness = SPACING_MM
    if offset or index:
        ds.PixelData = (template.pixel_array.astype(np.int16) + index * 7 + offset).tobytes()
    return ds


def _save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_ct_series(directory: Path, *, name: str = "ct", positions: Sequence[float] | None = None) -> list[Path]:
    """A good series (5 slices 2.5 mm apart by default), files named in the *reverse* of z order."""
    template = _template()
    zs = list(positions) if positions is not None else [SPACING_MM * k for k in range(5)]
    paths = []
    for index, z in enumerate(zs):
        paths.append(
            _save(_slice(template, series=name, index=index, z=z), directory / f"{name}_{len(zs) - index:03d}.dcm")
        )
    return paths


def write_truncated(directory: Path) -> list[Path]:
    """CT_small cut in the middle of its pixel data (header intact)."""
    source = Path(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    data = source.read_bytes()
    path = directory / "truncated.dcm"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) - 20_000])
    return [path]


def write_non_dicom(directory: Path) -> list[Path]:
    """A text file that pretends to be DICOM by its name."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "not_dicom.dcm"
    path.write_text("This is a radiology report saved with the wrong extension.\n" * 20)
    return [path]


def write_mr_series(directory: Path) -> list[Path]:
    """Three MR slices (MR_small.dcm): a valid series, but not CT."""
    template = _template("MR_small.dcm")
    base = [float(v) for v in template.ImagePositionPatient]
    normal = np.cross(
        [float(v) for v in template.ImageOrientationPatient[:3]],
        [float(v) for v in template.ImageOrientationPatient[3:]],
    )
    paths = []
    for index in range(3):
        ds = template.copy()
        ds.SeriesInstanceUID = _uid("mr", "series")
        ds.SOPInstanceUID = _uid("mr", index)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = list(np.asarray(base) + normal * 5.0 * index)
        paths.append(_save(ds, directory / f"mr_{index + 1:03d}.dcm"))
    return paths


def write_series_with_missing_slice(directory: Path) -> list[Path]:
    """Six positions 2.5 mm apart with the fourth file absent."""
    return write_ct_series(directory, name="missing", positions=[SPACING_MM * k for k in (0, 1, 2, 4, 5)])


def write_series_with_duplicate_slices(directory: Path) -> list[Path]:
    """A 5-slice series plus a pixel-identical copy of its middle slice (new SOPInstanceUID)."""
    paths = write_ct_series(directory, name="duplicate")
    ds = pydicom.dcmread(paths[2])
    ds.SOPInstanceUID = _uid("duplicate", "copy")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return [*paths, _save(ds, directory / "duplicate_copy.dcm")]


def write_series_with_conflicting_slices(directory: Path) -> list[Path]:
    """A 5-slice series plus a *different* image at the position of its middle slice."""
    paths = write_ct_series(directory, name="conflict")
    ds = _slice(_template(), series="conflict", index=2, z=2 * SPACING_MM, offset=50)
    return [*paths, _save(ds, directory / "conflict_other.dcm")]


def write_two_series_mixed(directory: Path) -> list[Path]:
    """Two series (3 slices each, different UIDs and positions) in one folder."""
    first = write_ct_series(directory, name="mixed_a", positions=[0.0, 2.5, 5.0])
    second = write_ct_series(directory, name="mixed_b", positions=[100.0, 102.5, 105.0])
    return first + second


def write_undecodable(directory: Path) -> list[Path]:
    """CT_small re-labelled JPEG Lossless Hierarchical (Process 28), which no installed decoder reads."""
    ds = _template()
    ds.SOPInstanceUID = _uid("undecodable")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = UNDECODABLE_SYNTAX
    ds.PixelData = encapsulate([b"\xff\xd8" + bytes(ds.PixelData[:2048]) + b"\xff\xd9"])
    ds["PixelData"].VR = "OB"
    return [_save(ds, directory / "undecodable.dcm")]


def write_corrupt_pixel_data(directory: Path) -> list[Path]:
    """CT_small RLE-compressed with a broken RLE header: a decoder exists but the stream is bad."""
    ds = _template()
    ds.SOPInstanceUID = _uid("corrupt")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.compress(RLELossless)
    data = bytearray(ds.PixelData)
    data[24:28] = (15).to_bytes(4, "little")  # 15 segments claimed, 2 present
    ds.PixelData = bytes(data)
    return [_save(ds, directory / "corrupt_rle.dcm")]


def write_tilted_series(directory: Path, tilt_degrees: float = 15.0) -> list[Path]:
    """Five slices whose positions drift sideways by tan(tilt) × step: a gantry-tilted stack."""
    template = _template()
    x0 = float(template.ImagePositionPatient[0])
    paths = []
    for index in range(5):
        z = SPACING_MM * index
        ds = _slice(template, series="tilted", index=index, z=z, x=x0 + math.tan(math.radians(tilt_degrees)) * z)
        ds.GantryDetectorTilt = tilt_degrees
        paths.append(_save(ds, directory / f"tilted_{index + 1:03d}.dcm"))
    return paths


def write_irregular_series(directory: Path) -> list[Path]:
    """Five slices at 0, 2.5, 5, 8.5 and 10 mm: steps that are not multiples of one step."""
    return write_ct_series(directory, name="irregular", positions=[0.0, 2.5, 5.0, 8.5, 10.0])


def write_skewed_orientation(directory: Path, skew_degrees: float = 60.0) -> list[Path]:
    """A series whose ImageOrientationPatient directions are 60° apart instead of 90°."""
    paths = write_ct_series(directory, name="skewed")
    for path in paths:
        ds = pydicom.dcmread(path)
        angle = math.radians(skew_degrees)
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, math.cos(angle), math.sin(angle), 0.0]
        _save(ds, path)
    return paths


def write_non_unit_orientation(directory: Path) -> list[Path]:
    """A series whose ImageOrientationPatient row direction has length 2 (a broken converter)."""
    paths = write_ct_series(directory, name="nonunit")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.ImageOrientationPatient = [2.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        _save(ds, path)
    return paths


def write_missing_modality(directory: Path) -> list[Path]:
    """A CT series (SOP Class CT Image Storage) whose Modality element was dropped."""
    paths = write_ct_series(directory, name="nomodality")
    for path in paths:
        ds = pydicom.dcmread(path)
        del ds.Modality
        _save(ds, path)
    return paths


def write_missing_rescale_slope(directory: Path) -> list[Path]:
    """A CT series with RescaleIntercept -1024 but no RescaleSlope."""
    paths = write_ct_series(directory, name="noslope")
    for path in paths:
        ds = pydicom.dcmread(path)
        del ds.RescaleSlope
        ds.RescaleIntercept = -1024
        _save(ds, path)
    return paths


def write_zero_rescale_slope(directory: Path) -> list[Path]:
    """A CT series whose slices say RescaleSlope 0."""
    paths = write_ct_series(directory, name="zeroslope")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.RescaleSlope = 0
        _save(ds, path)
    return paths


def write_localizer(directory: Path) -> list[Path]:
    """A CT scout image (ImageType LOCALIZER)."""
    ds = _slice(_template(), series="scout", index=0, z=0.0)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    return [_save(ds, directory / "scout.dcm")]


def write_enhanced_ct(directory: Path, *, name: str = "enhanced") -> list[Path]:
    """A multi-frame Legacy Converted Enhanced CT made (by highdicom) from a 5-slice series."""
    from highdicom.legacy import LegacyConvertedEnhancedCTImage

    slices = [pydicom.dcmread(p) for p in write_ct_series(directory / f"_{name}_source", name=name)]
    image = LegacyConvertedEnhancedCTImage(
        slices,
        series_instance_uid=_uid(name, "mf-series"),
        series_number=90,
        sop_instance_uid=_uid(name, "mf"),
        instance_number=1,
    )
    return [_save(image, directory / f"{name}.dcm")]


@dataclass(frozen=True)
class BadInput:
    """One kind of bad input and what the DICOM loader must do with it."""

    name: str
    write: Callable[[Path], list[Path]]
    outcome: str
    field: str | None
    says: str = ""


BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput("truncated", write_truncated, "rejected", "PixelData"),
    BadInput("non_dicom", write_non_dicom, "unclaimed", None),
    BadInput("mr_series", write_mr_series, "rejected", "Modality"),
    BadInput("missing_slice", write_series_with_missing_slice, "rejected", "ImagePositionPatient"),
    BadInput(
        "irregular_spacing", write_irregular_series, "resampled", "ImagePositionPatient", "irregular slice spacing"
    ),
    BadInput("gantry_tilt", write_tilted_series, "resampled", "GantryDetectorTilt", "gantry tilt 15°"),
    BadInput("skewed_orientation", write_skewed_orientation, "rejected", "ImageOrientationPatient", "not orthogonal"),
    BadInput("non_unit_orientation", write_non_unit_orientation, "rejected", "ImageOrientationPatient", "unit vectors"),
    BadInput("missing_modality", write_missing_modality, "warning", "Modality", "Modality is missing"),
    BadInput(
        "missing_rescale_slope", write_missing_rescale_slope, "warning", "RescaleSlope", "RescaleSlope is missing"
    ),
    BadInput("zero_rescale_slope", write_zero_rescale_slope, "rejected", "RescaleSlope", "RescaleSlope is 0"),
    BadInput("localizer", write_localizer, "rejected", "ImageType"),
    BadInput("undecodable", write_undecodable, "rejected", "TransferSyntaxUID"),
    BadInput("corrupt_pixel_data", write_corrupt_pixel_data, "load_error", "PixelData"),
    BadInput("conflicting_duplicate", write_series_with_conflicting_slices, "load_error", "ImagePositionPatient"),
    BadInput(
        "duplicate_slices", write_series_with_duplicate_slices, "warning", "ImagePositionPatient", "dropped 1 duplicate"
    ),
    BadInput("two_series_mixed", write_two_series_mixed, "split", None),
)
