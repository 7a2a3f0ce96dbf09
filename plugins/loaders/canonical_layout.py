"""Reorient any voxel grid to the canonical layout: axes running to patient Left, Posterior, Superior.

Every loader builds an array plus a voxel → LPS-mm affine in whatever axis order its file format
stores, then calls :func:`to_lps`. Flips and axis swaps are exact (no resampling), so an oblique
acquisition keeps its obliquity in the affine while the array axes run to the *nearest* L, P, S.
nibabel's orientation helpers do the bookkeeping; they are coordinate-system agnostic, so asking
for "world axes 0, 1, 2 in the positive direction" means L, P, S when the affine maps to LPS.
"""

from __future__ import annotations

import numpy as np
import nibabel.orientations as nio

_LPS_AXES = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)


def to_lps(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip/transpose ``array`` (3-D) so its axes run to L, P, S; return it with its new affine.

    ``affine`` must map voxel indices of ``array`` to LPS millimetres. The returned array is
    C-contiguous (callers hash and hand it to torch, which refuses negative strides).
    """
    start = nio.io_orientation(affine)
    transform = nio.ornt_transform(start, _LPS_AXES)
    if np.array_equal(transform, _LPS_AXES):
        return np.ascontiguousarray(array), np.asarray(affine, dtype=float)
    reoriented = nio.apply_orientation(array, transform)
    new_affine = np.asarray(affine, dtype=float) @ nio.inv_ornt_aff(transform, array.shape)
    return np.ascontiguousarray(reoriented), new_affine


def axis_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size in mm along each array axis: the length of each affine column."""
    norms = np.linalg.norm(np.asarray(affine, dtype=float)[:3, :3], axis=0)
    return (float(norms[0]), float(norms[1]), float(norms[2]))


def obliquity_degrees(affine: np.ndarray) -> float:
    """Largest angle (degrees) between an array axis and the patient axis it was snapped to."""
    directions = np.asarray(affine, dtype=float)[:3, :3]
    cosines = np.abs(directions) / np.linalg.norm(directions, axis=0)
    return float(np.degrees(np.arccos(np.clip(cosines.max(axis=0).min(), -1.0, 1.0))))
