"""Resample a gantry-tilted or irregularly spaced slice stack onto a regular, box-shaped grid.

Scanners write such stacks routinely: a tilted gantry shifts each slice sideways along the table
(the positions drift off the slice normal), and a series assembled from several acquisitions or
reconstructed with a changing increment has steps that differ. A voxel array plus one affine
cannot describe either. Like dcm2niix and 3D Slicer, the loader resamples instead of refusing:

* the new grid keeps the slices' own in-plane axes (ImageOrientationPatient), pixel spacing,
  rows and columns, and the first slice's position as its origin; its third axis is the slice
  normal, so the voxels form a box;
* each source slice is shifted in its plane by its own sideways offset from the first slice
  (bilinear, ``scipy.ndimage.shift``), which undoes the tilt exactly for whole-pixel offsets;
* new slices lie every ``step`` mm along the normal from the first source slice to the last (the
  finest regular step that ends on the last slice, never coarser than the smallest source step)
  and are interpolated linearly between the two source slices around them;
* voxels the shifted slices do not cover get the stack's lowest value (outside the scan field).

The original geometry (every slice's position and distance along the normal, the orientation,
the stated tilt) goes into the volume's ``metadata['original_geometry']``, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from radcurate.plugins.loaders.dicom.geometry import Regrid, SlicePlane

_WHOLE = 1e-3  # pixel offsets this close to an integer are shifted without interpolation


def regrid_stack(
    hu: np.ndarray, planes: Sequence[SlicePlane], regrid: Regrid
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Resample ``hu`` (slices sorted along the normal, shape (slices, rows, columns)) onto a regular grid.

    ``planes`` are the geometry of those slices, in the same order. Returns the new stack
    (float32, same layout), its affine (voxel (column, row, slice) → LPS mm) and the original
    geometry to record.
    """
    from scipy import ndimage

    first = planes[0]
    u, v = np.asarray(first.orientation[:3], dtype=float), np.asarray(first.orientation[3:], dtype=float)
    normal = first.normal
    d_col, d_row = first.pixel_spacing[1], first.pixel_spacing[0]
    origin = np.asarray(first.position, dtype=float)
    offsets = np.asarray([p.position for p in planes], dtype=float) - origin
    along = offsets @ normal
    shift_cols, shift_rows = offsets @ u / d_col, offsets @ v / d_row
    fill = float(np.min(hu))

    def shifted(i: int) -> np.ndarray:
        image = hu[i].astype(np.float32, copy=False)
        rows, cols = float(shift_rows[i]), float(shift_cols[i])
        if abs(rows) < _WHOLE and abs(cols) < _WHOLE:
            return image
        if abs(rows - round(rows)) < _WHOLE and abs(cols - round(cols)) < _WHOLE:
            out = np.full_like(image, fill)
            r, c = int(round(rows)), int(round(cols))
            h, w = image.shape
            out[max(r, 0) : h + min(r, 0), max(c, 0) : w + min(c, 0)] = image[
                max(-r, 0) : h - max(r, 0), max(-c, 0) : w - max(c, 0)
            ]
            return out
        return ndimage.shift(image, (rows, cols), order=1, mode="constant", cval=fill, prefilter=False)

    extent = float(along[-1] - along[0])
    count = int(round(extent / regrid.step)) + 1 if extent > 0 else 1
    targets = along[0] + regrid.step * np.arange(count)
    targets[-1] = along[-1]  # end exactly on the last slice despite rounding
    out = np.empty((count, *hu.shape[1:]), dtype=np.float32)
    cache: dict[int, np.ndarray] = {}

    def source(i: int) -> np.ndarray:
        if i not in cache:
            if len(cache) > 2:
                cache.pop(min(cache))
            cache[i] = shifted(i)
        return cache[i]

    for k, z in enumerate(targets):
        j = int(np.clip(np.searchsorted(along, z, side="right") - 1, 0, len(along) - 1))
        if j == len(along) - 1 or abs(z - along[j]) < 1e-6:
            out[k] = source(j)
            continue
        w = float((z - along[j]) / (along[j + 1] - along[j]))
        out[k] = (1.0 - w) * source(j) + w * source(j + 1)
    affine = np.eye(4)
    affine[:3, 0] = u * d_col
    affine[:3, 1] = v * d_row
    affine[:3, 2] = normal * regrid.step
    affine[:3, 3] = origin
    original = {
        "reason": regrid.reason,
        "field": regrid.field,
        "gantry_detector_tilt_degrees": regrid.tilt,
        "shear_degrees": round(regrid.shear, 3),
        "image_orientation_patient": [float(x) for x in first.orientation],
        "pixel_spacing_mm": [float(x) for x in first.pixel_spacing],
        "slices": len(planes),
        "slice_positions_lps_mm": [[round(float(x), 4) for x in p.position] for p in planes],
        "slice_distances_mm": [round(float(x), 4) for x in along],
        "resampled_slices": count,
        "resampled_step_mm": round(regrid.step, 6),
    }
    return out, affine, original
