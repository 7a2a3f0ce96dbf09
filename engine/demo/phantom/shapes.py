"""Drawing primitives for the phantom: a voxel grid in mm and soft-edged solids painted in HU.

Every solid is rendered with a one-voxel partial-volume ramp (``coverage`` in [0, 1]) instead of
a hard edge, so structures thinner than a voxel (vessel walls, calcified specks, catheters) still
leave a visible trace at the coarse demo resolution, as they would on a real thick-slice CT.
Solids are computed inside their bounding box only; a case paints a few hundred of them and
must stay in the millisecond range.

Coordinates are LPS millimetres with the grid centred on the volume centre: ``x`` to the
patient's Left (array axis 0), ``y`` to Posterior (axis 1), ``z`` to Superior (axis 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Grid:
    """Voxel centres of a ``shape`` volume with ``spacing`` mm, as broadcastable mm axes."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    x: np.ndarray  # (X, 1, 1)
    y: np.ndarray  # (1, Y, 1)
    z: np.ndarray  # (1, 1, Z)

    @property
    def voxel(self) -> float:
        """In-plane voxel size (mm): the width of the partial-volume ramp."""
        return float(self.spacing[0] + self.spacing[1]) / 2.0

    @property
    def extent(self) -> Vec3:
        """Full field of view along each axis (mm)."""
        return tuple(float(n * s) for n, s in zip(self.shape, self.spacing, strict=True))  # type: ignore[return-value]

    def box(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, slice] | None:
        """Index slices of the voxels whose centres lie in the mm box ``[lo, hi]`` (None if empty)."""
        out = []
        for axis, (a, b) in enumerate(zip(lo, hi, strict=True)):
            n, s = self.shape[axis], self.spacing[axis]
            half = (n - 1) / 2.0
            i0 = max(0, int(np.floor(a / s + half)))
            i1 = min(n, int(np.ceil(b / s + half)) + 1)
            if i0 >= i1:
                return None
            out.append(slice(i0, i1))
        return out[0], out[1], out[2]

    def local(self, box: tuple[slice, slice, slice]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The mm axes restricted to ``box``."""
        return self.x[box[0], :, :], self.y[:, box[1], :], self.z[:, :, box[2]]


@lru_cache(maxsize=8)
def grid_for(shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> Grid:
    """The (cached) grid for one volume geometry; every case of a cohort shares it."""
    axes = []
    for n, s in zip(shape, spacing, strict=True):
        axes.append(((np.arange(n, dtype=np.float32) - (n - 1) / 2.0) * s).astype(np.float32))
    return Grid(
        shape=tuple(int(n) for n in shape),  # type: ignore[arg-type]
        spacing=tuple(float(s) for s in spacing),  # type: ignore[arg-type]
        x=axes[0][:, None, None],
        y=axes[1][None, :, None],
        z=axes[2][None, None, :],
    )


@dataclass(frozen=True)
class Patch:
    """A solid's coverage (0..1) inside its bounding box."""

    box: tuple[slice, slice, slice]
    cov: np.ndarray

    def mask(self, shape: tuple[int, int, int], threshold: float = 0.5) -> np.ndarray:
        """Full-size boolean mask of voxels covered more than ``threshold``."""
        out = np.zeros(shape, dtype=bool)
        out[self.box] = self.cov > threshold
        return out

    def full(self, shape: tuple[int, int, int]) -> np.ndarray:
        out = np.zeros(shape, dtype=np.float32)
        out[self.box] = self.cov
        return out


def _ramp(signed_mm: np.ndarray, voxel: float) -> np.ndarray:
    return np.clip(0.5 - signed_mm / voxel, 0.0, 1.0).astype(np.float32)


def ellipsoid(grid: Grid, center: Vec3, radii: Vec3) -> Patch | None:
    """Axis-aligned ellipsoid (mm); the distance is approximated along its shortest radius."""
    c = np.asarray(center, dtype=np.float32)
    r = np.maximum(np.asarray(radii, dtype=np.float32), 1e-3)
    pad = 2 * grid.voxel
    box = grid.box(c - r - pad, c + r + pad)
    if box is None:
        return None
    x, y, z = grid.local(box)
    q = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2
    return Patch(box, _ramp((np.sqrt(q) - 1.0) * float(r.min()), grid.voxel))


def sphere(grid: Grid, center: Vec3, radius: float) -> Patch | None:
    return ellipsoid(grid, center, (radius, radius, radius))


def tube(grid: Grid, points: np.ndarray, radii: np.ndarray | float) -> Patch | None:
    """A polyline through ``points`` (N×3 mm) with radius tapering linearly between points."""
    pts = np.asarray(points, dtype=np.float32)
    rad = np.broadcast_to(np.asarray(radii, dtype=np.float32), (len(pts),))
    pad = float(rad.max()) + 2 * grid.voxel
    box = grid.box(pts.min(axis=0) - pad, pts.max(axis=0) + pad)
    if box is None:
        return None
    x, y, z = grid.local(box)
    best = np.full((x.shape[0], y.shape[1], z.shape[2]), np.inf, dtype=np.float32)
    for p0, p1, r0, r1 in zip(pts[:-1], pts[1:], rad[:-1], rad[1:], strict=True):
        seg = p1 - p0
        length2 = float(seg @ seg) or 1e-6
        s = ((x - p0[0]) * seg[0] + (y - p0[1]) * seg[1] + (z - p0[2]) * seg[2]) / length2
        s = np.clip(s, 0.0, 1.0)
        d = np.sqrt((x - p0[0] - s * seg[0]) ** 2 + (y - p0[1] - s * seg[1]) ** 2 + (z - p0[2] - s * seg[2]) ** 2)
        np.minimum(best, d - (r0 + (r1 - r0) * s), out=best)
    return Patch(box, _ramp(best, grid.voxel))


def paint(
    hu: np.ndarray,
    patch: Patch | None,
    value: float | np.ndarray,
    limit: np.ndarray | None = None,
) -> None:
    """Blend ``value`` (HU) into ``hu`` by the patch's coverage, only where ``limit`` allows."""
    if patch is None:
        return
    cov = patch.cov if limit is None else patch.cov * limit[patch.box]
    region = hu[patch.box]
    if isinstance(value, np.ndarray) and value.shape == hu.shape:
        value = value[patch.box]
    region += cov * (value - region)


def smooth_noise(shape: tuple[int, int, int], cells: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-variance noise that varies over ``cells`` knots per axis (linear upsampling)."""
    coarse = rng.standard_normal(tuple(c + 1 for c in cells)).astype(np.float32)
    out = coarse
    for axis, n in enumerate(shape):
        m = out.shape[axis]
        pos = np.linspace(0.0, m - 1.0, n, dtype=np.float32)
        i0 = np.minimum(pos.astype(np.int64), m - 2)
        w = (pos - i0).reshape([-1 if k == axis else 1 for k in range(3)])
        out = np.take(out, i0, axis=axis) * (1 - w) + np.take(out, i0 + 1, axis=axis) * w
    out -= out.mean()
    std = float(out.std())
    return (out / std if std > 0 else out).astype(np.float32)


def erode(mask: np.ndarray, steps: int) -> np.ndarray:
    """Shrink a mask by ``steps`` voxels along each axis (6-neighbourhood), so a point picked in
    the result keeps a solid of that radius inside the original region."""
    out = mask
    for _ in range(max(0, steps)):
        p = np.pad(out, 1, constant_values=False)
        inner = (slice(1, -1),) * 3
        out = p[inner].copy()
        for axis in range(3):
            for shift in (slice(None, -2), slice(2, None)):
                out &= p[tuple(shift if a == axis else slice(1, -1) for a in range(3))]
    return out


def pick_point(grid: Grid, mask: np.ndarray, rng: np.random.Generator) -> Vec3 | None:
    """The mm centre of a random voxel of ``mask`` (None if the mask is empty)."""
    flat = np.flatnonzero(mask)
    if flat.size == 0:
        return None
    i, j, k = np.unravel_index(int(flat[rng.integers(flat.size)]), mask.shape)
    return float(grid.x[i, 0, 0]), float(grid.y[0, j, 0]), float(grid.z[0, 0, k])
