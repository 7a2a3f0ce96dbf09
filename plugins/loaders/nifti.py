"""The built-in NIfTI loader: one ``.nii`` / ``.nii.gz`` file → one CT Volume.

nibabel reads the file; ``img.affine`` is the sform when sform_code > 0, else the qform when
qform_code > 0, else a pixdim-only affine (we report which). NIfTI world coordinates are RAS+,
so negating the first two rows gives LPS, and :func:`to_lps` flips/transposes the array to the
canonical layout. scl_slope/scl_inter are applied; the result stays int16 when exact. NIfTI has
no modality field: the volume is assumed to be CT, with a warning when values do not look like
HU.

Geometry and values a careful user would not want guessed at: the affine that places the voxels
(sform, else qform, else pixdim) must be finite and invertible, and the voxel sizes it uses
(pixdim) positive — else the file is refused naming that field (``srow_x``, ``pixdim``). A volume
with no finite voxel (all NaN/inf) is refused naming the data; one with some non-finite voxels
imports with them set to the lowest finite value and a warning giving the count. Any other
failure while reading becomes a one-line InputError, never a Python exception text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine.contracts.plugins import Discovery, Rejection, VolumeSource
from radcurate.engine.errors import InputError
from radcurate.engine.volumes.volume import Volume, content_checksum
from radcurate.plugins.loaders.canonical_layout import axis_spacing, to_lps
from radcurate.plugins.loaders.hounsfield import exact_int16, rescale_to_hu

SUFFIXES = (".nii", ".nii.gz")
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
_AFFINE_SOURCES = {"sform": "sform_code", "qform": "qform_code"}


def is_nifti_name(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _open(path: Path) -> Any:
    import nibabel

    try:
        return nibabel.load(str(path), mmap=False)
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except Exception as exc:  # nibabel raises ImageFileError, ValueError, EOFError, OSError...
        raise InputError(f"not a readable NIfTI header: {exc}", path=path, field="sizeof_hdr") from None


def _spatial_shape(img: Any, path: Path) -> tuple[int, int, int]:
    """The 3-D shape; a 4-D/5-D image passes only if its extra axes all have length 1."""
    shape = tuple(int(n) for n in img.shape)
    if len(shape) < 3:
        raise InputError(f"{len(shape)}-D image {shape}: a CT volume needs 3 axes", path=path, field="dim")
    if any(n != 1 for n in shape[3:]):
        raise InputError(
            f"{len(shape)}-D image {shape}: radcurate imports one 3-D CT volume per file; split the "
            "extra (time/channel) axis into separate files first",
            path=path,
            field="dim",
        )
    if min(shape[:3]) < 1:
        raise InputError(f"empty image {shape}", path=path, field="dim")
    return shape[0], shape[1], shape[2]


def affine_source(header: Any) -> str:
    """Which header field ``img.affine`` came from: "sform", "qform" or "pixdim"."""
    for name, code in _AFFINE_SOURCES.items():
        try:
            if int(header[code]) > 0:
                return name
        except (KeyError, ValueError, TypeError):
            continue
    return "pixdim"


def check_geometry(img: Any, path: Path) -> str:
    """Refuse a zero, non-finite or singular affine/pixdim, naming the field; return the affine source."""
    header = img.header
    source = affine_source(header)
    pixdim = np.asarray(_raw_header(img, path)["pixdim"][1:4], dtype=float)
    if source in ("qform", "pixdim") and (not np.all(np.isfinite(pixdim)) or np.any(pixdim <= 0)):
        raise InputError(
            f"pixdim (voxel size) {_fmt(pixdim)} must be three positive numbers; the {source} affine needs them",
            path=path,
            field="pixdim",
        )
    if source == "sform":
        matrix = np.asarray([header["srow_x"], header["srow_y"], header["srow_z"]], dtype=float)
        where = "srow_x"
    else:
        try:
            matrix = np.asarray(img.affine, dtype=float)[:3]
        except Exception:  # nibabel fails on some broken quaternions
            matrix = np.full((3, 4), np.nan)
        where = "quatern_b" if source == "qform" else "pixdim"
    if not np.all(np.isfinite(matrix)):
        raise InputError(f"the {source} affine has non-finite values", path=path, field=where)
    scale = float(np.abs(matrix[:, :3]).max()) or 1.0
    if abs(np.linalg.det(matrix[:, :3])) <= 1e-9 * scale**3:
        raise InputError(
            f"the {source} affine is singular (a zero voxel size or two axes in one direction): "
            f"{_fmt(matrix[:, :3].ravel())}; the voxels cannot be placed in space",
            path=path,
            field=where,
        )
    return source


def _raw_header(img: Any, path: Path) -> Any:
    """The header as written: nibabel's loader silently sets a zero pixdim to 1, which would invent a voxel size."""
    from nibabel.openers import ImageOpener

    try:
        with ImageOpener(str(path)) as handle:
            return type(img.header).from_fileobj(handle, check=False)
    except Exception:  # unreadable again: the header nibabel already parsed is the best there is
        return img.header


def _fmt(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _finite(hu: np.ndarray, path: Path) -> tuple[np.ndarray, str | None]:
    """``hu`` with non-finite voxels set to the lowest finite value, and a warning; InputError if none is finite."""
    if not np.issubdtype(hu.dtype, np.floating):
        return hu, None
    bad = ~np.isfinite(hu)
    count = int(np.count_nonzero(bad))
    if count == 0:
        return hu, None
    if count == hu.size:
        raise InputError(
            f"no finite voxel: all {hu.size:,} values are NaN or infinite", path=path, field="data (voxel values)"
        )
    low = float(hu[~bad].min())
    hu = hu.copy() if not hu.flags.writeable else hu
    hu[bad] = low
    return hu, f"{count:,} of {hu.size:,} voxels ({count / hu.size:.2%}) are NaN or infinite; set to {low:g} HU"


def _voxels(img: Any, path: Path) -> tuple[np.ndarray, float, float]:
    try:
        stored = np.asarray(img.dataobj.get_unscaled())
    except Exception as exc:  # truncated gzip, short file...
        raise InputError(f"cannot read the voxel data: {exc}", path=path, field="vox_offset") from None
    slope = float(getattr(img.dataobj, "slope", 1.0))
    intercept = float(getattr(img.dataobj, "inter", 0.0))
    if not np.isfinite(slope) or slope == 0:
        slope = 1.0
    if not np.isfinite(intercept):
        intercept = 0.0
    if stored.ndim > 3:
        stored = stored.reshape(stored.shape[:3], order="F")
    if not stored.flags.writeable:
        stored = stored.copy(order="K")
    return stored, slope, intercept


def _warnings(hu: np.ndarray, source: str, header: Any) -> list[str]:
    warnings = []
    if source == "pixdim":
        warnings.append("no sform or qform: orientation assumed from pixdim alone (RAS by convention)")
    units = header.get_xyzt_units()[0] if hasattr(header, "get_xyzt_units") else "unknown"
    if units not in ("mm", "unknown"):
        warnings.append(f"spatial units are {units}, not mm; spacing is reported as stored")
    if hu.size:
        lo, hi = float(hu.min()), float(hu.max())
        if lo >= 0 or hi - lo < 100:
            warnings.append(
                f"values {lo:g}…{hi:g} do not look like CT Hounsfield units (no air near -1000): "
                "not CT, or stored values without the rescale intercept?"
            )
    return warnings


class NiftiLoader:
    """NIfTI-1/NIfTI-2 CT volumes (``.nii``, ``.nii.gz``), one volume per file."""

    name = "nifti"
    version = "1.0.0"

    def discover(self, files: Sequence[Path]) -> Discovery:
        """Claim files named ``*.nii`` / ``*.nii.gz``; refuse unreadable headers and true 4-D images."""
        found = Discovery()
        for given in files:
            path = Path(given)
            if not is_nifti_name(path):
                continue
            found.claimed.add(str(given))
            try:
                img = _open(path)
                _spatial_shape(img, path)
                check_geometry(img, path)
            except InputError as exc:
                found.rejected.append(Rejection(str(given), exc.field or "", exc.reason))
                continue
            found.sources.append(
                VolumeSource(
                    loader=self.name,
                    files=(str(given),),
                    study_key=stem(path),
                    series_key=path.name,
                    description=f"NIfTI {path.name}",
                )
            )
        return found

    def load(self, source: VolumeSource) -> Volume:
        """Read one file to HU in the canonical LPS layout; InputError names the header field."""
        if len(source.files) != 1:
            raise InputError(f"a NIfTI source is one file, got {len(source.files)}", field="files")
        path = Path(source.files[0])
        try:
            return self._load(path)
        except InputError:
            raise
        except Exception as exc:  # a header nibabel accepts but cannot use: one line, never a traceback
            raise InputError(
                f"cannot read this NIfTI file as a CT volume ({type(exc).__name__} while decoding: the header is "
                "inconsistent or the file is damaged)",
                path=path,
                field="header",
            ) from None

    def _load(self, path: Path) -> Volume:
        img = _open(path)
        _spatial_shape(img, path)
        source_field = check_geometry(img, path)
        stored, slope, intercept = _voxels(img, path)
        hu = rescale_to_hu(stored, slope, intercept)
        hu, finite_note = _finite(hu, path)
        if hu.dtype == np.float32:
            hu = exact_int16(hu)
        import nibabel

        ras_affine = np.asarray(img.affine, dtype=float)
        codes = "".join(nibabel.aff2axcodes(ras_affine))  # letters name where each axis points
        array, affine = to_lps(hu, RAS_TO_LPS @ ras_affine)
        spacing = axis_spacing(affine)
        metadata = {
            "format": "nifti",
            "transfer_syntax": None,
            "affine_source": source_field,
            "stored_axis_codes": codes,
            "scl_slope": slope,
            "scl_inter": intercept,
            "stored_dtype": str(img.get_data_dtype()),
            "description": _descrip(img.header),
            "warnings": ([finite_note] if finite_note else []) + _warnings(array, source_field, img.header),
        }
        return Volume(
            array=array,
            spacing=spacing,
            affine=affine,
            modality="CT",
            source=str(path),
            checksum=content_checksum(array, spacing, affine),
            metadata=metadata,
        )


def _descrip(header: Any) -> str:
    try:
        raw = header["descrip"]
    except (KeyError, ValueError):
        return ""
    value = raw.item() if hasattr(raw, "item") else raw
    return value.decode("latin-1", "replace").strip("\x00 ") if isinstance(value, bytes) else str(value)
