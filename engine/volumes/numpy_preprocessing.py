"""Volume → network input in numpy alone: the MONAI chain of ``preprocessing.py``, re-done for triage.

A bundle must run where torch is not installed, and must compute exactly what training saw (the
commonest complaint about released CT models is preprocessing drift). So this module reproduces
the deterministic eval chain of :mod:`radcurate.engine.volumes.preprocessing` step by step, and a
test holds it to ≤ 1e-4 of MONAI on real DICOM, NIfTI and phantom volumes:

1. MONAI ``Spacing(pixdim, mode="bilinear", padding_mode="border")`` builds its output grid from
   the input affine: the same rotation, the new voxel size, the origin at the input's first voxel,
   and ``round((n − 1)·s / t) + 1`` voxels per axis (``compute_shape_offset``). Each output voxel
   samples the input at ``inv(A_in) · A_out · index`` with linear interpolation and the coordinate
   clamped to the volume (``border``). Interpolating on that grid, and not with ``zoom`` or block
   means, is what makes the parity exact; when the grid is axis-aligned (every built-in loader's
   case) the trilinear sample is done separably, one axis at a time, which is the same arithmetic
   and much faster than ``scipy.ndimage.map_coordinates`` (used for oblique grids).
   A window whose ``resampling`` is ``"max"`` is sampled the same way from the volume after
   :func:`max_footprint` (a ``scipy.ndimage.maximum_filter``), so each output voxel keeps the
   highest HU under its footprint and a plaque or wire smaller than a voxel survives downsampling.
2. For each HU window (one output channel each): clip to ``[hu_min, hu_max]`` and map linearly to
   ``[out_min, out_max]`` (MONAI ``ScaleIntensityRange(clip=True)``).
3. ``SpatialPad(method="symmetric")`` with each channel's air value (``out_min``), then the centre
   crop (``size // 2 − roi // 2``). Only the voxels that survive the crop are interpolated, so a
   512×512×300 series costs a few hundred milliseconds, not seconds.

The recipe is a plain value (:class:`PreprocessingRecipe`), stored as JSON in a bundle's
manifest: triage reads it from there, never from a project's settings, so editing
``radcurate.toml`` after an export never changes what a bundle computes. Units: HU in, mm spacing,
arrays in the canonical LPS layout ``(X, Y, Z)``; output ``(C, X, Y, Z)`` float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError

_AFFINE_TOL = 1e-6  # MONAI's AFFINE_TOL: below this an off-diagonal term is treated as zero


@dataclass(frozen=True)
class Window:
    """One HU window → one input channel: clip to [hu_min, hu_max] HU, map to [out_min, out_max].

    ``resampling`` is how the channel reaches the target spacing: ``"linear"`` or ``"max"``.
    """

    hu_min: float
    hu_max: float
    out_min: float
    out_max: float
    resampling: str = "linear"

    def apply(self, hu: np.ndarray) -> np.ndarray:
        """``ScaleIntensityRange(a_min, a_max, b_min, b_max, clip=True)`` in float32."""
        slope = np.float32((self.out_max - self.out_min) / (self.hu_max - self.hu_min))
        out = (hu - np.float32(self.hu_min)) * slope + np.float32(self.out_min)
        lo, hi = sorted((self.out_min, self.out_max))
        return np.clip(out, np.float32(lo), np.float32(hi), out=out)


@dataclass(frozen=True)
class PreprocessingRecipe:
    """Everything the eval chain needs, as it travels in a bundle manifest (see module docstring)."""

    spacing: tuple[float, float, float]
    windows: tuple[Window, ...]
    shape: tuple[int, int, int]
    pipeline: str = "2"  # the version of preprocessing.py's chain this reproduces (PIPELINE_VERSION)

    @property
    def channels(self) -> int:
        return len(self.windows)

    def as_json(self) -> dict[str, Any]:
        return {
            "spacing": list(self.spacing),
            "windows": [
                {
                    "hu_min": w.hu_min,
                    "hu_max": w.hu_max,
                    "out_min": w.out_min,
                    "out_max": w.out_max,
                    "resampling": w.resampling,
                }
                for w in self.windows
            ],
            "shape": list(self.shape),
            "pipeline": self.pipeline,
            "steps": [
                "per window: resampling max -> maximum_filter(size=max_footprint) on the HU volume first",
                "Spacing(pixdim=spacing, mode=bilinear, padding_mode=border)",
                "per window: ScaleIntensityRange(hu_min, hu_max, out_min, out_max, clip=True) -> one channel",
                "SpatialPad(shape, method=symmetric, value=out_min)",
                "CenterSpatialCrop(shape)",
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreprocessingRecipe:
        """Parse the manifest's ``preprocessing`` object; a malformed one is an InputError."""
        try:
            windows = tuple(
                Window(
                    float(w["hu_min"]),
                    float(w["hu_max"]),
                    float(w["out_min"]),
                    float(w["out_max"]),
                    str(w.get("resampling", "linear")),  # bundles from before the setting: linear
                )
                for w in data["windows"]
            )
            spacing = tuple(float(s) for s in data["spacing"])
            shape = tuple(int(n) for n in data["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"malformed preprocessing description ({exc})", field="preprocessing") from None
        if len(spacing) != 3 or len(shape) != 3 or not windows or any(w.hu_max <= w.hu_min for w in windows):
            raise InputError("preprocessing needs 3 spacings, 3 sizes and at least one window", field="preprocessing")
        if any(w.resampling not in ("linear", "max") for w in windows):
            raise InputError("a window's resampling must be 'linear' or 'max'", field="preprocessing")
        return cls(spacing, windows, shape, str(data.get("pipeline", "2")))  # type: ignore[arg-type]


def recipe_from_settings(settings: Any, pipeline: str | None = None) -> PreprocessingRecipe:
    """The recipe of a project's ``PreprocessingSettings`` (export time only; triage reads manifests).

    ``pipeline`` defaults to the MONAI chain's ``PIPELINE_VERSION``, recorded so a bundle says which
    version of the chain it reproduces.

    Accepts the single-window form (``hu_min``/``hu_max``) and the list form (``windows``: pairs of
    HU bounds, or objects with ``hu_min``/``hu_max``), each mapped by ``(HU + scale_offset) /
    scale_divisor`` unless a window carries its own output range.
    """
    offset = float(getattr(settings, "scale_offset", 400.0))
    divisor = float(getattr(settings, "scale_divisor", 600.0))
    raw = getattr(settings, "windows", None) or [(settings.hu_min, settings.hu_max)]
    modes = tuple(getattr(settings, "resampling", None) or ()) or ("linear",) * len(raw)
    if len(modes) != len(raw):
        raise InputError(f"{len(raw)} windows but {len(modes)} resampling entries", field="preprocessing.resampling")
    windows = []
    for item, mode in zip(raw, modes, strict=True):
        if isinstance(item, dict):
            lo, hi = float(item["hu_min"]), float(item["hu_max"])
            out = (item.get("out_min"), item.get("out_max"))
        elif hasattr(item, "hu_min"):
            lo, hi = float(item.hu_min), float(item.hu_max)
            out = (getattr(item, "out_min", None), getattr(item, "out_max", None))
        else:
            lo, hi = (float(v) for v in item)
            out = (None, None)
        out_min = float(out[0]) if out[0] is not None else (lo + offset) / divisor
        out_max = float(out[1]) if out[1] is not None else (hi + offset) / divisor
        windows.append(Window(lo, hi, out_min, out_max, str(mode)))
    spacing = tuple(float(s) for s in settings.spacing)
    shape = tuple(int(n) for n in settings.shape)
    if pipeline is None:
        from radcurate.engine.volumes.preprocessing import PIPELINE_VERSION

        pipeline = PIPELINE_VERSION
    return PreprocessingRecipe(spacing, tuple(windows), shape, pipeline)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- MONAI's output grid
def _spacing_of(affine: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))


def output_grid(
    shape: Sequence[int], affine: np.ndarray, spacing: Sequence[float]
) -> tuple[tuple[int, int, int], np.ndarray]:
    """MONAI ``Spacing``'s output (shape, affine) for an input of ``shape`` and ``affine`` (diagonal=False).

    Rotation kept (``zoom_affine``), voxel size ``spacing`` mm, shape and origin from
    ``compute_shape_offset`` with ``scale_extent=False``.
    """
    affine = np.asarray(affine, dtype=np.float64)
    rzs = affine[:3, :3]
    zs = np.linalg.cholesky(rzs.T @ rzs).T
    rotation = rzs @ np.linalg.inv(zs)
    new = np.eye(4)
    new[:3, :3] = rotation @ np.diag(np.sign(np.diag(zs)) * np.abs(np.asarray(spacing, dtype=np.float64)))
    dims = np.asarray(shape, dtype=np.float64)
    corners = np.asarray(np.meshgrid(*[(0.0, n - 1.0) for n in dims], indexing="ij")).reshape(3, -1)
    corners = np.concatenate((corners, np.ones_like(corners[:1])))
    corners_out = np.linalg.solve(new, affine) @ corners
    all_dist = corners_out[:-1].copy()
    out_shape = np.round(np.ptp(corners_out[:-1] / corners_out[-1], axis=1) + 1.0).astype(int)
    world = affine @ corners
    offset = None
    for i in range(corners.shape[1]):
        if np.allclose(np.min(all_dist - all_dist[:, i : i + 1], 1), 0.0, rtol=_AFFINE_TOL):
            offset = world[:-1, i]
            break
    if offset is None:
        offset = affine[:3, :3] @ (dims / 2.0) + affine[:3, 3] - new[:3, :3] @ (out_shape / 2.0)
    new[:3, 3] = offset
    return (int(out_shape[0]), int(out_shape[1]), int(out_shape[2])), new


def max_footprint(shape: Sequence[int], affine: np.ndarray, spacing: Sequence[float]) -> tuple[int, int, int]:
    """Per-axis size of the maximum filter that makes bilinear sampling keep a one-voxel peak.

    After ``maximum_filter(size=k)`` a dense voxel becomes a plateau of ``k`` source voxels, and a
    bilinear sample anywhere on it returns the peak. Output voxels sit ``r = target / source``
    source voxels apart, so a plateau ``ceil(r) + 1`` wide always holds one (the usual case:
    0.7 mm → 5 mm gives 9; 6 mm → 5 mm gives 2). When the grid is axis-aligned and ``r`` is a whole
    number (MONAI's grid starts on the first voxel, so every r-th source voxel is sampled exactly)
    ``r`` is enough: equal spacing needs no filter, and the peak is not smeared further than needed.
    """
    _, grid = output_grid(shape, affine, spacing)
    xform = np.linalg.solve(np.asarray(affine, dtype=np.float64), grid)
    sizes = []
    for a in range(3):
        row = xform[a, :3]
        step = float(np.abs(row).sum())  # source voxels between neighbouring samples, along axis a
        aligned = np.abs(np.delete(row, a)).max() < _AFFINE_TOL and abs(xform[a, 3] - round(xform[a, 3])) < 1e-6
        if aligned and step >= 1.0 - 1e-6 and abs(step - round(step)) < 1e-6:
            sizes.append(round(step))
        elif aligned and step < 1.0 and abs(1.0 / step - round(1.0 / step)) < 1e-6:
            sizes.append(1)  # upsampling by a whole factor samples every source voxel
        else:
            sizes.append(int(np.ceil(step - 1e-6)) + 1)
    return sizes[0], sizes[1], sizes[2]


def max_filtered(array: np.ndarray, affine: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """The HU volume a ``"max"`` window is resampled from: :func:`max_footprint`'s maximum filter.

    Same dtype as ``array`` (a maximum is exact in int16), border voxels repeated like ``Spacing``'s
    ``padding_mode="border"``. Shared by the MONAI chain and this one, so they stay in parity.
    """
    from scipy.ndimage import maximum_filter

    size = max_footprint(np.shape(array), affine, spacing)
    if size == (1, 1, 1):
        return np.asarray(array)
    return maximum_filter(np.asarray(array), size=size, mode="nearest")


def _kept(size: int, roi: int) -> tuple[int, int, int]:
    """(first resampled index kept, count kept, index in the output where it lands) for pad + crop."""
    if size >= roi:
        return size // 2 - roi // 2, roi, 0
    return 0, size, (roi - size) // 2


def _linear_along(array: np.ndarray, axis: int, coords: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``array`` along ``axis`` at ``coords`` (voxel units), clamped (border).

    Gathers only the two neighbouring planes per output position (``take``), converted to float32
    after the gather, so an int16 volume is never copied whole.
    """
    n = array.shape[axis]
    coords = np.clip(coords, 0.0, n - 1.0)
    low = np.minimum(np.floor(coords).astype(np.intp), max(n - 2, 0))
    weight = (coords - low).astype(np.float32)
    high = np.minimum(low + 1, n - 1)
    view = [1, 1, 1]
    view[axis] = -1
    weight = weight.reshape(view)
    a = np.take(array, low, axis=axis).astype(np.float32, copy=False)
    b = np.take(array, high, axis=axis).astype(np.float32, copy=False)
    return a + (b - a) * weight


def resample_hu(
    array: np.ndarray, affine: np.ndarray, recipe: PreprocessingRecipe
) -> tuple[np.ndarray, tuple[slice, slice, slice]]:
    """Step 1 on the voxels that survive the crop: (HU block, where it lands in the ``shape`` output)."""
    grid_shape, grid_affine = output_grid(array.shape, affine, recipe.spacing)
    kept = [_kept(m, r) for m, r in zip(grid_shape, recipe.shape, strict=True)]
    xform = np.linalg.solve(np.asarray(affine, dtype=np.float64), grid_affine)
    target = tuple(slice(dst, dst + count) for _, count, dst in kept)
    axes = [np.arange(first, first + count, dtype=np.float64) for first, count, _ in kept]
    off_diagonal = xform[:3, :3] - np.diag(np.diag(xform[:3, :3]))
    if np.all(np.abs(off_diagonal) < _AFFINE_TOL):
        coords = [xform[a, a] * axes[a] + xform[a, 3] for a in range(3)]
        # Work on a C-ordered view (the loaders' arrays are Fortran-ordered: their transpose is one),
        # outermost memory axis first: gathering whole contiguous planes is a memcpy, and the later
        # passes run on the small block. Same arithmetic in any axis order (trilinear is separable).
        flip = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
        block = np.asarray(array).T if flip else np.asarray(array)
        perm = (2, 1, 0) if flip else (0, 1, 2)
        for a in range(3):
            block = _linear_along(block, a, coords[perm[a]])
        if flip:
            block = block.T
        return np.ascontiguousarray(block, dtype=np.float32), target  # type: ignore[return-value]
    from scipy.ndimage import map_coordinates

    source = np.asarray(array, dtype=np.float32)

    mesh = np.meshgrid(*axes, indexing="ij")
    points = np.stack([m.ravel() for m in mesh] + [np.ones(mesh[0].size)])
    src = (xform @ points)[:3]
    for a in range(3):
        np.clip(src[a], 0.0, source.shape[a] - 1.0, out=src[a])
    values = map_coordinates(source, src, order=1, mode="nearest")
    return values.reshape(tuple(len(a) for a in axes)).astype(np.float32), target  # type: ignore[return-value]


def preprocess_array(array: np.ndarray, affine: np.ndarray, recipe: PreprocessingRecipe) -> np.ndarray:
    """HU volume ``(X, Y, Z)`` with its LPS affine → network input ``(C, *shape)`` float32 (eval path)."""
    if np.ndim(array) != 3:
        raise InputError(f"expected a 3-D volume, got shape {np.shape(array)}", field="shape")
    blocks = {}
    for mode in dict.fromkeys(w.resampling for w in recipe.windows):  # each source resampled once
        source = array if mode == "linear" else max_filtered(array, affine, recipe.spacing)
        blocks[mode] = resample_hu(source, affine, recipe)
    out = np.empty((recipe.channels, *recipe.shape), dtype=np.float32)
    for c, window in enumerate(recipe.windows):
        block, target = blocks[window.resampling]
        out[c] = np.float32(window.out_min)  # air: what the symmetric pad fills with
        out[c][target] = window.apply(block.copy())
    return out


def preprocess_volume(volume: Any, recipe: PreprocessingRecipe) -> np.ndarray:
    """:func:`preprocess_array` of a :class:`~radcurate.engine.volumes.volume.Volume`."""
    return preprocess_array(volume.array, volume.affine, recipe)
