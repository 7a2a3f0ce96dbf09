"""Multi-frame CT (Enhanced CT, Legacy Converted Enhanced CT): one file, one volume.

Frame geometry lives in the per-frame and shared functional groups rather than at the top level.
We read it into the same :class:`SlicePlane` objects as single-frame series so the same named
checks (missing frame, irregular spacing, tilt) apply, then let highdicom assemble the volume:
its ``Image.get_volume`` already sorts frames, applies each frame's Pixel Value Transformation
and builds the affine, which is exactly the code we would otherwise write by hand.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from radcurate.engine.errors import InputError
from radcurate.plugins.loaders.canonical_layout import to_lps
from radcurate.plugins.loaders.dicom.geometry import SlicePlane, plane_from_attributes, stack_planes
from radcurate.plugins.loaders.hounsfield import exact_int16


def is_multiframe(ds: Dataset) -> bool:
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        frames = 1
    return frames > 1 or "PerFrameFunctionalGroupsSequence" in ds


def _first_item(groups: Any, keyword: str) -> Any:
    sequence = getattr(groups, keyword, None) if groups is not None else None
    return sequence[0] if sequence else None


def frame_planes(ds: Dataset, path: str) -> list[SlicePlane]:
    """One :class:`SlicePlane` per frame, from per-frame groups first, shared groups second."""
    shared = _first_item(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    frames = int(ds.get("NumberOfFrames", len(per_frame)) or len(per_frame))
    if len(per_frame) != frames:
        raise InputError(
            f"PerFrameFunctionalGroupsSequence has {len(per_frame)} items for {frames} frames",
            path=path,
            field="PerFrameFunctionalGroupsSequence",
        )
    planes = []
    for index, groups in enumerate(per_frame):

        def pick(keyword: str, _groups: Any = groups) -> Any:
            item = _first_item(_groups, keyword)
            return item if item is not None else _first_item(shared, keyword)

        position, orientation, measures = (
            pick("PlanePositionSequence"),
            pick("PlaneOrientationSequence"),
            pick("PixelMeasuresSequence"),
        )
        attrs = SimpleNamespace(
            ImagePositionPatient=getattr(position, "ImagePositionPatient", None),
            ImageOrientationPatient=getattr(orientation, "ImageOrientationPatient", None),
            PixelSpacing=getattr(measures, "PixelSpacing", None),
            SliceThickness=getattr(measures, "SliceThickness", None),
        )
        planes.append(plane_from_attributes(attrs, path, frame=index, fallback=ds))
    return planes


def load_multiframe(ds: Dataset, path: str, *, series: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode a multi-frame CT to (HU array in LPS layout, affine, warnings)."""
    import highdicom

    stack = stack_planes(frame_planes(ds, path), series=series)
    if stack.regrid is not None:
        raise InputError(
            f"{series}: {stack.regrid.reason}; resampling a multi-frame file is not supported, convert it to a "
            "single-frame series first",
            path=path,
            field=stack.regrid.field,
        )
    if stack.duplicates:
        raise InputError(
            f"{series}: {sum(len(g) for g in stack.duplicates)} frames share positions (several phases or "
            "temporal positions in one file?); split the file into one volume per phase first",
            path=path,
            field="PerFrameFunctionalGroupsSequence",
        )
    try:
        image = highdicom.Image.from_dataset(ds, copy=False)
        volume = image.get_volume(dtype=np.float32)
    except Exception as exc:  # highdicom/pydicom raise many types for malformed frames
        raise InputError(
            f"{series}: cannot assemble the frames into a volume: {exc}", path=path, field="PixelData"
        ) from None
    # highdicom's volume axes are (frame, row, column) with an affine to the patient (LPS) frame.
    array, affine = to_lps(np.asarray(volume.array), np.asarray(volume.affine, dtype=float))
    return exact_int16(array), affine, stack.warnings
