"""Stored values → Hounsfield units, keeping ``int16`` whenever that is exact.

CT stores small integers and a linear rescale (DICOM RescaleSlope/Intercept, NIfTI
scl_slope/scl_inter). Whole-number parameters whose result fits int16 give whole HU, so we keep
int16 (half the memory of float32, a quarter of pydicom's float64 ``apply_rescale``); anything
else becomes float32. The int16 path works in place on the stored array when it can: int16
arithmetic wraps modulo 2**16, so ``uint16 - 1024`` computed in int16 is exact whenever the true
result fits int16, which the range check below guarantees.
"""

from __future__ import annotations

import numpy as np

_INT16 = np.iinfo(np.int16)


def _whole(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(np.abs(values - np.round(values)) < 1e-6))


def rescale_to_hu(stored: np.ndarray, slope: float | np.ndarray, intercept: float | np.ndarray) -> np.ndarray:
    """Return ``stored * slope + intercept`` as int16 when exact, else float32.

    ``slope`` and ``intercept`` are scalars or arrays broadcastable to ``stored`` (e.g. shape
    ``(n, 1, 1)`` for one rescale per slice). ``stored`` may be modified in place.
    """
    if not stored.dtype.isnative:  # big-endian files: the in-place int16 view needs native bytes
        stored = stored.astype(stored.dtype.newbyteorder("="))
    slopes = np.asarray(slope, dtype=np.float64)
    intercepts = np.asarray(intercept, dtype=np.float64)
    if np.issubdtype(stored.dtype, np.integer) and _whole(slopes) and _whole(intercepts) and stored.size:
        lo, hi = float(stored.min()), float(stored.max())
        ends = np.concatenate([(slopes * lo + intercepts).ravel(), (slopes * hi + intercepts).ravel()])
        if ends.min() >= _INT16.min and ends.max() <= _INT16.max:
            return _rescale_int16(stored, slopes, intercepts)
    return _rescale_float32(stored, slopes, intercepts)


def _rescale_int16(stored: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    if stored.dtype.itemsize == 2:
        hu = stored.view(np.int16)  # reinterpret uint16 in place: wraparound keeps the sum exact
    else:
        hu = stored.astype(np.int16)  # int8/uint8/int32 stored values: the range check allows it
    if np.any(slopes != 1):
        np.multiply(hu, np.round(slopes).astype(np.int16), out=hu, casting="unsafe")
    if np.any(intercepts != 0):
        np.add(hu, np.round(intercepts).astype(np.int16), out=hu, casting="unsafe")
    return hu


def _rescale_float32(stored: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    hu = stored.astype(np.float32)
    if np.any(slopes != 1):
        hu *= slopes.astype(np.float32)
    if np.any(intercepts != 0):
        hu += intercepts.astype(np.float32)
    return hu


def exact_int16(values: np.ndarray) -> np.ndarray:
    """``values`` as int16 if they are all whole numbers in range, else as float32.

    For decoders that only hand back floats (highdicom's multi-frame volumes, float NIfTI).
    """
    if np.issubdtype(values.dtype, np.integer):
        return rescale_to_hu(values, 1.0, 0.0)
    if values.size and np.all(np.isfinite(values)):
        lo, hi = float(values.min()), float(values.max())
        if lo >= _INT16.min and hi <= _INT16.max and np.array_equal(values, np.round(values)):
            return values.astype(np.int16)
    return values.astype(np.float32, copy=False)
