"""The built-in DICOM loader: a folder of CT slices (or one multi-frame CT file) → one Volume.

``discover`` reads headers only (``stop_before_pixels``) and groups files into series;
``load`` reads each file of one series exactly once, with its pixels, sorts the slices along the
slice normal, checks the spacing, decodes, converts to HU and reorients to the canonical LPS
layout (see :mod:`radcurate.engine.volumes.volume`). Every refusal names the file and DICOM keyword.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.filereader import read_file_meta_info

from radcurate.engine.contracts.plugins import Discovery, VolumeSource
from radcurate.engine.errors import InputError
from radcurate.engine.volumes.volume import Volume, content_checksum
from radcurate.plugins.loaders.canonical_layout import axis_spacing, obliquity_degrees, to_lps
from radcurate.plugins.loaders.dicom.dicomdir import is_dicomdir, read_dicomdir
from radcurate.plugins.loaders.dicom.geometry import plane_from_attributes, stack_planes
from radcurate.plugins.loaders.dicom.grouping import (
    DicomFile,
    group_sources,
    scan_file,
    series_name,
    slice_spacing_hint,
)
from radcurate.plugins.loaders.dicom.multiframe import is_multiframe, load_multiframe
from radcurate.plugins.loaders.dicom.pixels import (
    duplicates_to_drop,
    padding_note,
    permute_slices,
    read_slices,
    rescale_parameters,
    stack_to_hu,
)
from radcurate.plugins.loaders.dicom.regrid import regrid_stack
from radcurate.plugins.loaders.dicom.screening import (
    CT_IMAGE_STORAGE,
    check_ct_image,
    check_decodable,
    transfer_syntax,
)
from radcurate.plugins.loaders.dicom.values import number, texts
from radcurate.plugins.loaders.dicom.values import text as header_text
from radcurate.plugins.loaders.hounsfield import exact_int16

OBLIQUE_WARNING_DEGREES = 1.0
MULTIFRAME_CT = {uid for uid, name in CT_IMAGE_STORAGE.items() if "Enhanced" in name}


def _read_multiframe_file(path: str) -> Dataset:
    try:
        return pydicom.dcmread(path)
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except Exception as exc:  # pydicom raises many types on corrupt files
        raise InputError(f"unreadable DICOM file: {exc}", path=path, field="header") from None


def _is_multiframe_class(path: str) -> bool:
    try:
        meta = read_file_meta_info(path)
    except Exception:  # unreadable meta: the single-frame path reports it with a named field
        return False
    return str(meta.get("MediaStorageSOPClassUID", "")) in MULTIFRAME_CT


def _metadata(ds: Dataset, warnings: list[str], files: int) -> dict[str, Any]:
    def text(keyword: str) -> str:
        return header_text(ds, keyword)

    uid = transfer_syntax(ds)
    return {
        "format": "dicom",
        "transfer_syntax": str(uid) or None,
        "transfer_syntax_name": uid.name if uid else None,
        "study_instance_uid": text("StudyInstanceUID"),
        "series_instance_uid": text("SeriesInstanceUID"),
        "frame_of_reference_uid": text("FrameOfReferenceUID"),
        "accession_number": text("AccessionNumber"),
        "patient_id": text("PatientID"),
        "series_description": text("SeriesDescription"),
        "convolution_kernel": " ".join(texts(ds, "ConvolutionKernel")),  # e.g. B30f, LUNG: the series picker
        "sop_class_uid": text("SOPClassUID"),
        "slice_thickness": number(ds, "SliceThickness"),
        "files": files,
        "warnings": warnings,
    }


class DicomSeriesLoader:
    """CT DICOM series (any transfer syntax pydicom can decode) and multi-frame CT files."""

    name = "dicom"
    version = "1.0.0"

    def discover(self, files: Sequence[Path]) -> Discovery:
        """Claim DICOM files (headers only); non-DICOM files stay unclaimed for other loaders."""
        found = Discovery()
        screened: list[DicomFile] = []
        files = list(files)
        offered = {str(p) for p in files}
        listed: list[Path] = []
        for path in files:
            if is_dicomdir(Path(path)):  # an export's index: read through it, report what it lacks
                found.claimed.add(str(path))
                present, missing = read_dicomdir(Path(path))
                found.rejected.extend(missing)
                listed += [p for p in present if str(p) not in offered]
                offered.update(str(p) for p in present)
        for path in [f for f in files if not is_dicomdir(Path(f))] + listed:
            result = scan_file(Path(path))
            if result is None:
                continue
            found.claimed.add(str(path))
            if isinstance(result, DicomFile):
                screened.append(result)
            else:
                found.rejected.append(result)
        sources, rejected = group_sources(screened, self.name)
        found.sources.extend(sources)
        found.rejected.extend(rejected)
        return found

    def load(self, source: VolumeSource) -> Volume:
        """Decode one series to HU in the canonical LPS layout; InputError names file and field.

        Whatever else goes wrong while decoding becomes one InputError line naming the series'
        first file, never a Python exception text.
        """
        if not source.files:
            raise InputError("the source lists no files", field="files")
        paths = [str(p) for p in source.files]
        try:
            return self._load(paths)
        except InputError:
            raise
        except MemoryError:
            raise InputError(
                f"not enough memory to decode {len(paths)} file(s)", path=paths[0], field="PixelData"
            ) from None
        except Exception as exc:
            raise InputError(
                f"cannot build a CT volume from these {len(paths)} file(s) ({type(exc).__name__} while decoding: "
                "inconsistent headers or damaged pixel data)",
                path=paths[0],
                field="header",
            ) from None

    def _load(self, paths: list[str]) -> Volume:
        if len(paths) == 1 and _is_multiframe_class(paths[0]):
            first = _read_multiframe_file(paths[0])
            note = check_ct_image(first, paths[0])
            check_decodable(first, paths[0])
            series = series_name(first)
            array, affine, warnings = load_multiframe(first, paths[0], series=series)
            warnings = [note, *warnings] if note else warnings
            dropped: list[str] = []
            extra: dict[str, Any] = {}
        else:
            first, array, affine, warnings, dropped, extra = self._load_slices(paths)
        if obliquity_degrees(affine) > OBLIQUE_WARNING_DEGREES:
            warnings.append(
                f"oblique acquisition ({obliquity_degrees(affine):.1f}° off the patient axes); the affine keeps it"
            )
        spacing = axis_spacing(affine)
        return Volume(
            array=array,
            spacing=spacing,
            affine=affine,
            modality="CT",
            source=str(Path(paths[0]).parent) if len(paths) > 1 else paths[0],
            checksum=content_checksum(array, spacing, affine),
            metadata={**_metadata(first, warnings, len(paths)), "dropped_files": dropped, **extra},
        )

    @staticmethod
    def _load_slices(
        paths: list[str],
    ) -> tuple[Dataset, np.ndarray, np.ndarray, list[str], list[str], dict[str, Any]]:
        headers, stored = read_slices(paths)
        notes: list[str] = []
        for header, path in zip(headers, paths, strict=True):
            note = check_ct_image(header, path)
            if note and note not in notes:
                notes.append(note)
            if is_multiframe(header):
                raise InputError("a multi-frame file must be loaded on its own", path=path, field="NumberOfFrames")
        series = series_name(headers[0])
        planes = [plane_from_attributes(h, p) for h, p in zip(headers, paths, strict=True)]
        stack = stack_planes(planes, series=series, single_slice_spacing=slice_spacing_hint(headers[0]))
        permute_slices(stored, stack.order)
        headers = [headers[i] for i in stack.order]
        stored, slopes, intercepts, rescale_notes = rescale_parameters(headers, stored, [paths[i] for i in stack.order])
        warnings = [*notes, *stack.warnings, *rescale_notes]
        kept = list(range(len(headers)))
        dropped: list[str] = []
        if stack.duplicates:
            ordered_paths = [paths[i] for i in stack.order]
            drop, notes = duplicates_to_drop(stored, slopes, intercepts, stack.duplicates, ordered_paths)
            kept = [i for i in kept if i not in set(drop)]
            dropped = [ordered_paths[i] for i in drop]
            stored, slopes, intercepts = stored[kept], slopes[kept], intercepts[kept]
            warnings += notes
        note = padding_note(headers[0], stored, float(slopes.flat[0]), float(intercepts.flat[0]))
        if note:
            warnings.append(note)
        hu = stack_to_hu(stored, slopes, intercepts)
        extra: dict[str, Any] = {}
        affine = stack.affine(kept)
        if stack.regrid is not None:
            sorted_planes = stack.sorted_planes
            regridded, affine, extra["original_geometry"] = regrid_stack(
                hu, [sorted_planes[i] for i in kept], stack.regrid
            )
            hu = exact_int16(regridded)
        else:
            extra.update(_instance_numbers([headers[i] for i in kept], affine))
        # stored[slice, row, column] → voxel (column, row, slice), the order the affine describes.
        array, affine = to_lps(hu.transpose(2, 1, 0), affine)
        return headers[0], array, affine, warnings, dropped, extra


def _instance_numbers(headers: list[Dataset], affine: np.ndarray) -> dict[str, Any]:
    """Each slice's InstanceNumber in the canonical layout, for a viewer to show it as PACS does.

    ``instance_numbers[i]`` belongs to LPS index ``i`` along ``instance_axis`` (0: x, 1: y, 2: z);
    the slices are sorted by position, never by this number (scanners and anonymisers number
    freely). Empty when a slice has none or the stack was resampled (no slice is one file then).
    """
    found = [number(h, "InstanceNumber") for h in headers]
    if not found or any(n is None for n in found):
        return {}
    marker = np.asarray([int(n) for n in found if n is not None], dtype=np.int64).reshape(1, 1, -1)
    oriented, _ = to_lps(marker, affine)  # the same flips and transposition as the voxels get
    axis = int(np.argmax(oriented.shape)) if len(found) > 1 else int(np.abs(affine[:3, 2]).argmax())
    return {"instance_numbers": [int(v) for v in oriented.reshape(-1)], "instance_axis": axis}
