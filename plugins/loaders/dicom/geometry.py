"""Where each DICOM slice sits, and whether a set of slices makes one box-shaped volume.

Slices are ordered by their distance along the slice normal (the cross product of the two
ImageOrientationPatient directions, dotted with ImagePositionPatient), never by file name or
InstanceNumber, which scanners and anonymisers number freely. The checks here need headers only,
so discovery can refuse a broken series before any pixel is decoded; loading runs them again on
the files it actually reads. Every refusal is an :class:`InputError` naming a file and the DICOM
keyword at fault.

Policy (documented here because users will ask):

* ImageOrientationPatient whose two directions are not unit length or not orthogonal (within
  1 %) → refused: the spacing and the slice normal would both be wrong;
* missing slice (a step that is a whole multiple of the usual step) → refused;
* irregular spacing (steps that differ by more than 2 % and are not multiples) → resampled onto a
  regular grid, as dcm2niix and 3D Slicer do (:mod:`.regrid`), with a warning naming the spacing;
* slices at the same position → kept for the loader, which drops pixel-identical copies with a
  warning and refuses differing ones;
* gantry tilt / sheared stack (positions drift sideways from the normal by more than a tenth of
  a pixel) → resampled onto a box-shaped grid with a warning naming the tilt; a non-zero
  GantryDetectorTilt whose positions are *not* sheared is accepted with a warning;
* overlapping reconstruction (SliceThickness > spacing) → accepted with a warning.

Resampling is decided here (:attr:`Stack.regrid`) from headers alone, so discovery and loading
agree; the loader does it after decoding and records the original geometry in the volume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.plugins.loaders.dicom.values import numbers

SPACING_RTOL = 0.02  # steps within 2 % of the usual step count as regular
ORIENTATION_TOL = 0.01  # |direction| within 1 % of 1, and |cos| between them below 0.01 (0.6°)
DUPLICATE_MM = 0.01  # positions closer than this along the normal are "the same slice"


@dataclass(frozen=True)
class SlicePlane:
    """Geometry of one image plane (a file, or one frame of a multi-frame file), in LPS mm."""

    path: str
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    pixel_spacing: tuple[float, float]  # (between rows, between columns) as DICOM stores it
    rows: int
    columns: int
    thickness: float | None = None
    tilt: float = 0.0
    frame: int | None = None

    @property
    def normal(self) -> np.ndarray:
        row_dir, col_dir = np.asarray(self.orientation[:3]), np.asarray(self.orientation[3:])
        n = np.cross(row_dir, col_dir)
        return n / np.linalg.norm(n)


def plane_from_attributes(attrs: Any, path: str, *, frame: int | None = None, fallback: Any = None) -> SlicePlane:
    """Build a :class:`SlicePlane` from a dataset (or functional-group items) or raise InputError.

    ``fallback`` supplies attributes ``attrs`` lacks (multi-frame files keep Rows/Columns and
    SliceThickness at the top level).
    """
    where = f" (frame {frame + 1})" if frame is not None else ""

    def read(keyword: str, count: int | None = None) -> tuple[float, ...] | None:
        try:
            found = numbers(attrs, keyword)
            if found is None and fallback is not None:
                found = numbers(fallback, keyword)
        except (TypeError, ValueError):
            raise InputError(f"{keyword} is not numeric{where}", path=path, field=keyword) from None
        if count is None:
            return found
        if found is None:
            raise InputError(f"{keyword} is missing{where}: cannot place the slice in space", path=path, field=keyword)
        if len(found) != count or not all(math.isfinite(v) for v in found):
            raise InputError(f"{keyword} needs {count} finite numbers, found {found}{where}", path=path, field=keyword)
        return found

    position = read("ImagePositionPatient", 3)
    orientation = read("ImageOrientationPatient", 6)
    spacing = read("PixelSpacing", 2)
    rows, columns = read("Rows", 1), read("Columns", 1)
    assert position and orientation and spacing and rows and columns
    row_dir, col_dir = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    if np.linalg.norm(np.cross(row_dir, col_dir)) < 0.5:
        raise InputError(
            f"ImageOrientationPatient directions are parallel or zero{where}",
            path=path,
            field="ImageOrientationPatient",
        )
    lengths = (float(np.linalg.norm(row_dir)), float(np.linalg.norm(col_dir)))
    if max(abs(n - 1.0) for n in lengths) > ORIENTATION_TOL:
        raise InputError(
            f"ImageOrientationPatient directions must be unit vectors, found lengths {lengths[0]:.4g} and "
            f"{lengths[1]:.4g}{where}; the pixel spacing and slice normal cannot be trusted",
            path=path,
            field="ImageOrientationPatient",
        )
    cosine = float(row_dir @ col_dir) / (lengths[0] * lengths[1])
    if abs(cosine) > ORIENTATION_TOL:
        raise InputError(
            f"ImageOrientationPatient directions are not orthogonal ({np.degrees(np.arccos(cosine)):.1f}° apart)"
            f"{where}; a skewed pixel grid cannot be placed in space",
            path=path,
            field="ImageOrientationPatient",
        )
    if min(spacing) <= 0:
        raise InputError(f"PixelSpacing must be positive, found {spacing}", path=path, field="PixelSpacing")
    thickness, tilt = _first(read, "SliceThickness"), _first(read, "GantryDetectorTilt")
    return SlicePlane(
        path=path,
        position=position,  # type: ignore[arg-type]
        orientation=orientation,  # type: ignore[arg-type]
        pixel_spacing=spacing,  # type: ignore[arg-type]
        rows=int(rows[0]),
        columns=int(columns[0]),
        thickness=thickness,
        tilt=tilt or 0.0,
        frame=frame,
    )


def _first(read: Any, keyword: str) -> float | None:
    """An optional number: absent, empty or garbled all read as None."""
    try:
        found = read(keyword)
    except InputError:
        return None
    return found[0] if found else None


@dataclass(frozen=True)
class Regrid:
    """Why and how a stack is resampled onto a regular, box-shaped grid (see :mod:`.regrid`).

    ``field`` is the DICOM keyword behind it (GantryDetectorTilt or ImagePositionPatient),
    ``step`` the new slice spacing in mm, ``tilt`` the stated GantryDetectorTilt (degrees) and
    ``shear`` the angle (degrees) the positions actually drift from the slice normal.
    """

    reason: str
    field: str
    step: float
    tilt: float = 0.0
    shear: float = 0.0


@dataclass
class Stack:
    """Planes sorted along their normal, checked to form one regular volume.

    ``order`` indexes the planes given to :func:`stack_planes`, sorted by ``positions`` (mm
    along the normal, ascending). ``duplicates`` lists groups of indices into ``order`` that
    share a position; the loader compares their pixels. ``step`` is the slice spacing in mm.
    """

    planes: list[SlicePlane]
    order: list[int]
    positions: np.ndarray
    duplicates: list[list[int]]
    step: float
    warnings: list[str] = field(default_factory=list)
    regrid: Regrid | None = None

    @property
    def sorted_planes(self) -> list[SlicePlane]:
        return [self.planes[i] for i in self.order]

    def affine(self, kept: Sequence[int] | None = None) -> np.ndarray:
        """Voxel (column, row, slice) → LPS mm for the sorted slices ``kept`` (default: all).

        Column index runs along ImageOrientationPatient[0:3] with the *column* spacing
        PixelSpacing[1]; row index along [3:6] with the *row* spacing PixelSpacing[0].
        """
        kept = list(range(len(self.order))) if kept is None else list(kept)
        first = self.planes[self.order[kept[0]]]
        row_dir, col_dir = np.asarray(first.orientation[:3]), np.asarray(first.orientation[3:])
        affine = np.eye(4)
        affine[:3, 0] = row_dir * first.pixel_spacing[1]
        affine[:3, 1] = col_dir * first.pixel_spacing[0]
        affine[:3, 2] = first.normal * self.step
        affine[:3, 3] = first.position
        return affine


def _check_consistent(planes: Sequence[SlicePlane], series: str) -> None:
    first = planes[0]
    for plane in planes[1:]:
        if (plane.orientation, plane.pixel_spacing, plane.rows, plane.columns) == (
            first.orientation,
            first.pixel_spacing,
            first.rows,
            first.columns,
        ):
            continue  # the usual case, exactly equal: skip the tolerant comparisons
        if not np.allclose(plane.orientation, first.orientation, atol=1e-4):
            raise InputError(
                f"{series}: slices have different ImageOrientationPatient ({_fmt(first.orientation)} in "
                f"{first.path} vs {_fmt(plane.orientation)}); they are not one volume",
                path=plane.path,
                field="ImageOrientationPatient",
            )
        if not np.allclose(plane.pixel_spacing, first.pixel_spacing, rtol=1e-4):
            raise InputError(
                f"{series}: PixelSpacing {plane.pixel_spacing} differs from {first.pixel_spacing} in {first.path}",
                path=plane.path,
                field="PixelSpacing",
            )
        for keyword in ("rows", "columns"):
            if getattr(plane, keyword) != getattr(first, keyword):
                name = keyword.capitalize()
                mine, theirs = getattr(plane, keyword), getattr(first, keyword)
                raise InputError(
                    f"{series}: {name} {mine} differs from {theirs} in {first.path}",
                    path=plane.path,
                    field=name,
                )


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _shear(planes: list[SlicePlane], normal: np.ndarray) -> tuple[float, float] | None:
    """(worst sideways drift in mm, its angle in degrees) when positions leave the normal, else None."""
    origin = np.asarray(planes[0].position)
    offsets = np.asarray([p.position for p in planes]) - origin
    along = offsets @ normal
    sideways = np.linalg.norm(offsets - np.outer(along, normal), axis=1)
    limit = 0.1 * min(planes[0].pixel_spacing)
    worst = int(np.argmax(sideways))
    if sideways[worst] <= limit:
        return None
    angle = float(np.degrees(np.arctan2(sideways[worst], abs(along[worst])))) if along[worst] else 90.0
    if angle > 60.0:
        raise InputError(
            f"slice positions drift {sideways[worst]:.2f} mm sideways for {abs(along[worst]):.2f} mm along the "
            f"slice normal ({angle:.0f}°): not one stack of slices",
            path=planes[worst].path,
            field="ImagePositionPatient",
        )
    return float(sideways[worst]), angle


def _group_duplicates(distances: np.ndarray) -> tuple[list[int], list[list[int]]]:
    """Split sorted distances into unique positions and groups of same-position indices."""
    unique: list[int] = [0]
    groups: list[list[int]] = [[0]]
    for i in range(1, len(distances)):
        if distances[i] - distances[groups[-1][0]] < DUPLICATE_MM:
            groups[-1].append(i)
        else:
            unique.append(i)
            groups.append([i])
    return unique, [g for g in groups if len(g) > 1]


def _check_steps(
    planes: list[SlicePlane], distances: np.ndarray, unique: list[int], series: str
) -> tuple[float, str | None]:
    """(slice step in mm, None) for a regular stack; (regular step to resample to, why) for an irregular one."""
    steps = np.diff(distances[unique])
    step = float(np.min(steps))
    tolerance = max(SPACING_RTOL * step, DUPLICATE_MM)
    if np.all(np.abs(steps - step) <= tolerance):
        return float(np.mean(steps)), None
    multiples = steps / step
    whole = np.abs(multiples - np.round(multiples)) * step <= tolerance
    bad = int(np.argmax(np.abs(steps - step)))
    before, after = planes[unique[bad]], planes[unique[bad + 1]]
    low, high = distances[unique[bad]], distances[unique[bad + 1]]
    where = f"between {before.path} ({low:.2f} mm) and {after.path} ({high:.2f} mm)"
    if np.all(whole):
        missing = int(np.sum(np.round(multiples) - 1))
        raise InputError(
            f"{series}: {missing} missing slice(s); the largest gap is {steps[bad]:.2f} mm {where} "
            f"where the step is {step:.2f} mm",
            path=after.path,
            field="ImagePositionPatient",
        )
    extent = float(distances[unique[-1]] - distances[unique[0]])
    regular = extent / math.ceil(extent / step - 1e-6)  # the finest step that ends on the last slice
    distinct = sorted({round(float(s), 2) for s in steps})
    listed = ", ".join(f"{s:.2f}" for s in distinct[:6]) + (" ..." if len(distinct) > 6 else "")
    return regular, f"irregular slice spacing (ImagePositionPatient steps {listed} mm, largest {where})"


def stack_planes(planes: Sequence[SlicePlane], *, series: str, single_slice_spacing: float | None = None) -> Stack:
    """Sort ``planes`` along their normal and check they form one regular volume.

    Parameters
    ----------
    planes
        One per file or frame, any order.
    series
        How to name the series in messages (description or UID).
    single_slice_spacing
        Slice spacing to use when there is only one distinct position (SpacingBetweenSlices or
        SliceThickness from the header); 1 mm with a warning if ``None``.
    """
    planes = list(planes)
    if not planes:
        raise InputError(f"{series}: no slices", field="ImagePositionPatient")
    _check_consistent(planes, series)
    normal = planes[0].normal
    distances_raw = np.asarray([p.position for p in planes]) @ normal
    order = [int(i) for i in np.argsort(distances_raw, kind="stable")]
    sorted_planes = [planes[i] for i in order]
    distances = distances_raw[order]
    unique, duplicates = _group_duplicates(distances)
    warnings: list[str] = []
    tilt = next((p.tilt for p in planes if p.tilt), 0.0)
    regrid: Regrid | None = None
    if len(unique) == 1:
        step = single_slice_spacing if single_slice_spacing and single_slice_spacing > 0 else 1.0
        source = "from the header" if single_slice_spacing else "assumed (no SpacingBetweenSlices/SliceThickness)"
        warnings.append(f"single slice: slice spacing {step:g} mm {source}")
    else:
        try:
            shear = _shear([sorted_planes[i] for i in unique], normal)
        except InputError as exc:
            raise InputError(f"{series}: {exc.reason}", path=exc.path, field=exc.field) from None
        step, irregular = _check_steps(sorted_planes, distances, unique, series)
        reasons = []
        if shear is not None:
            cause = f"gantry tilt {tilt:g}° (GantryDetectorTilt)" if tilt else "a sheared stack (ImagePositionPatient)"
            reasons.append(f"{cause}: positions drift {shear[0]:.2f} mm sideways ({shear[1]:.1f}°)")
        if irregular is not None:
            reasons.append(irregular)
        if reasons:
            keyword = "GantryDetectorTilt" if shear is not None and tilt else "ImagePositionPatient"
            regrid = Regrid("; ".join(reasons), keyword, step, tilt, shear[1] if shear else 0.0)
            warnings.append(
                f"{regrid.reason}; resampled onto a regular {step:.3g} mm grid orthogonal to the slices "
                "(original geometry in metadata['original_geometry'])"
            )
        thickness = sorted_planes[0].thickness
        if thickness and thickness > step * (1 + SPACING_RTOL):
            warnings.append(f"overlapping reconstruction: SliceThickness {thickness:g} mm > slice spacing {step:g} mm")
    if tilt and regrid is None:
        warnings.append(f"GantryDetectorTilt {tilt:g}° but positions are not sheared: loaded as a box")
    return Stack(
        planes=planes,
        order=order,
        positions=distances,
        duplicates=duplicates,
        step=step,
        warnings=warnings,
        regrid=regrid,
    )
