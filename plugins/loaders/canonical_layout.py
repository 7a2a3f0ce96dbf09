"""Reorient any voxel grid to the canonical layout: axes running to patient Left, Posterior, Superior.

Every loader builds an array plus a voxel → LPS-mm affine in whatever axis order its file format
stores, then calls :func:`to_lps`. Flips and axis swaps are exact (no resampling), so an oblique
acquisition keeps its obliquity in the affine while the array axes run to the *nearest* L, P, S.
nibabel's orientation helpers do the bookkeeping; they are coordinate-system agnostic, so asking
for "world axes 0, 1, 2 in the positive direction" means L, P, S when the affine maps to LPS.
"""

from __future__ import annotations

import nibabel.orientations as nio
import numpy as np

_LPS_AXES = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)


def to_lps(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip/transpose ``array`` (3-D) so its axes run to L, P, S; return it with its new affine.

    ``affine`` must map voxel indices of ``array`` to LPS millimetres. The result has positive
    strides (torch refuses negative ones) and is Fortran- or C-contiguous: a view when no flip
    is needed (a transposed slice stack is already Fortran-ordered), else a Fortran-order copy,
    the layout :func:`~radcurate.engine.volumes.volume.content_checksum` hashes without copying again.
    """
    affine = np.asarray(affine, dtype=float)
    transform = nio.ornt_transform(_axis_codes(affine), _LPS_AXES)
    if not np.array_equal(transform, _LPS_AXES):
        affine = affine @ nio.inv_ornt_aff(transform, array.shape)
        array = nio.apply_orientation(array, transform)
    if not (array.flags.f_contiguous or array.flags.c_contiguous):
        array = np.asfortranarray(array)
    return array, affine


def _axis_codes(affine: np.ndarray) -> np.ndarray:
    """nibabel's ``io_orientation``, with a shortcut for the usual axis-aligned affine."""
    directions = affine[:3, :3]
    largest = np.abs(directions).argmax(axis=0)
    rest = np.abs(directions).sum(axis=0) - np.abs(directions[largest, range(3)])
    if len(set(largest.tolist())) == 3 and np.all(rest < 1e-6 * np.abs(directions).max()):
        return np.column_stack([largest, np.sign(directions[largest, range(3)])]).astype(float)
    return nio.io_orientation(affine)  # oblique: nibabel's SVD-based choice of nearest axes


def axis_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size in mm along each array axis: the length of each affine column."""
    norms = np.linalg.norm(np.asarray(affine, dtype=float)[:3, :3], axis=0)
    return (float(norms[0]), float(norms[1]), float(norms[2]))


def obliquity_degrees(affine: np.ndarray) -> float:
    """Largest angle (degrees) between an array axis and the patient axis it was snapped to."""
    directions = np.asarray(affine, dtype=float)[:3, :3]
    cosines = np.abs(directions) / np.linalg.norm(directions, axis=0)
    return float(np.degrees(np.arccos(np.clip(cosines.max(axis=0).min(), -1.0, 1.0))))
