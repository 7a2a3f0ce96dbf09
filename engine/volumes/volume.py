"""A CT volume in Hounsfield units with its geometry, as every loader returns it.

Canonical layout (the contract every loader honours, so preprocessing, training, triage and the
desktop never guess): ``array[i, j, k]`` with axis 0 running to the patient's Left, axis 1 to
Posterior and axis 2 to Superior (``orientation == "LPS"``, DICOM's patient coordinate system).
``spacing`` is in mm along those three axes; ``affine`` maps a voxel index ``(i, j, k, 1)`` to
LPS millimetres and keeps any obliquity that the axis codes round away. The desktop transposes
to ``(k, j, i)`` for axial display. Memory order is not part of the contract: the built-in loaders
return Fortran-ordered arrays (axis 0 fastest, as NIfTI stores voxels and as a stack of DICOM
slices reads when transposed), because a C-order copy of a 300-slice CT costs seconds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CANONICAL_ORIENTATION = "LPS"


@dataclass(frozen=True)
class Volume:
    """A loaded volume.

    Attributes
    ----------
    array
        Voxel values in HU, shape ``(X, Y, Z)`` in LPS order (see module docstring). ``int16``
        when the stored values rescale to whole HU exactly, else ``float32``.
    spacing
        Voxel size in mm along axes 0, 1, 2.
    affine
        4×4 voxel-index → LPS-mm matrix.
    modality
        DICOM Modality (``"CT"``) or ``"CT"`` assumed for NIfTI.
    source
        The file or folder it came from (display only; the store keeps the file list).
    checksum
        sha256 of the voxel data and geometry (see :func:`content_checksum`), independent of
        file names, order and compression.
    orientation
        Axis codes of the array; always ``"LPS"`` from the built-in loaders.
    metadata
        Loader-specific facts (transfer syntax, UIDs, series description, warnings...).
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    modality: str
    source: str
    checksum: str
    orientation: str = CANONICAL_ORIENTATION
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.array.shape)  # type: ignore[return-value]

    @property
    def hu_range(self) -> tuple[float, float]:
        return float(self.array.min()), float(self.array.max())

    @property
    def warnings(self) -> list[str]:
        return list(self.metadata.get("warnings", []))


def content_checksum(array: np.ndarray, spacing: tuple[float, float, float], affine: np.ndarray) -> str:
    """sha256 over voxel values (as little-endian float32-exact dtype), shape, spacing and affine.

    Two files holding the same image (e.g. one compressed, one not) get the same checksum, so a
    re-import is recognised and the preprocessing cache is shared. Voxels are hashed in Fortran
    order (axis 0 fastest), whatever the array's memory layout, so the loaders' Fortran-ordered
    arrays hash in place instead of through a transposing copy.
    """
    digest = hashlib.sha256()
    digest.update(str(array.shape).encode())
    digest.update(np.round(np.asarray(spacing, dtype=np.float64), 4).tobytes())
    digest.update(np.round(np.asarray(affine, dtype=np.float64), 3).tobytes())
    voxels = np.asfortranarray(array, dtype=array.dtype.newbyteorder("<"))
    digest.update(voxels.T.data)  # the transpose of a Fortran-ordered array is C-contiguous: no copy
    return digest.hexdigest()


def describe(volume: Volume) -> dict[str, Any]:
    """JSON-ready summary (used by ``radcurate inspect`` and the store's series rows)."""
    lo, hi = volume.hu_range
    return {
        "source": volume.source,
        "shape": list(volume.shape),
        "spacing": [round(s, 6) for s in volume.spacing],
        "orientation": volume.orientation,
        "affine": np.asarray(volume.affine, dtype=float).round(6).tolist(),
        "hu_min": lo,
        "hu_max": hi,
        "modality": volume.modality,
        "checksum": volume.checksum,
        "transfer_syntax": volume.metadata.get("transfer_syntax"),
        "warnings": volume.warnings,
    }
