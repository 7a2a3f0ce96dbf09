"""Geometry the scanners really write, built from real slices (dicom-ct-3slice-dcmqi, 512×512 GE CT).

A gantry-tilted stack (positions drifting sideways along the table) and a stack whose spacing
changes from 4 mm to 7 mm are resampled onto a regular grid; the tests check voxel positions
against the headers: the world position (LPS mm) of a source pixel, computed from its own
ImagePositionPatient / ImageOrientationPatient / PixelSpacing, must land on the voxel of the
loaded volume that holds the same HU.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest

from radcurate.plugins.loaders.dicom.series import DicomSeriesLoader

SLICES = ("01.dcm", "02.dcm", "03.dcm")


@pytest.fixture
def real_slices(shared_data: Path) -> list[pydicom.Dataset]:
    folder = shared_data / "dicom-ct-3slice-dcmqi"
    if not (folder / SLICES[0]).is_file():
        pytest.skip(f"{folder} not found (see shared/data/MANIFEST.md)")
    return [pydicom.dcmread(folder / name) for name in SLICES]


def _write(slices: list[pydicom.Dataset], folder: Path, positions: list[list[float]], tilt: float = 0.0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (ds, position) in enumerate(zip(slices, positions, strict=True)):
        ds = ds.copy()
        ds.ImagePositionPatient = position
        if tilt:
            ds.GantryDetectorTilt = tilt
        path = folder / f"slice_{i}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths


def _world(ds: pydicom.Dataset, position: list[float], row: int, col: int) -> np.ndarray:
    iop = np.asarray([float(v) for v in ds.ImageOrientationPatient])
    d_row, d_col = (float(v) for v in ds.PixelSpacing)
    return np.asarray(position) + col * d_col * iop[:3] + row * d_row * iop[3:]


def _index(affine: np.ndarray, world: np.ndarray) -> np.ndarray:
    return (np.linalg.inv(affine) @ np.append(world, 1.0))[:3]


def _load(paths: list[Path]):
    loader = DicomSeriesLoader()
    found = loader.discover(paths)
    assert not found.rejected and len(found.sources) == 1
    return loader.load(found.sources[0])


def test_gantry_tilt_is_resampled_and_voxels_sit_where_the_headers_say(
    real_slices: list[pydicom.Dataset], tmp_path: Path
) -> None:
    first = real_slices[0]
    base = [float(v) for v in first.ImagePositionPatient]
    d_row = float(first.PixelSpacing[0])
    step = 4.0  # table feed per slice; one row of sideways drift per slice: tan(tilt) = 0.81 / 4
    tilt = math.degrees(math.atan(d_row / step))
    positions = [[base[0], base[1] + k * d_row, base[2] - k * step] for k in range(3)]
    volume = _load(_write(real_slices, tmp_path / "tilted", positions, tilt=round(tilt, 2)))

    warning = next(w for w in volume.warnings if "resampled" in w)
    assert f"gantry tilt {round(tilt, 2):g}°" in warning and "GantryDetectorTilt" in warning
    original = volume.metadata["original_geometry"]
    assert original["field"] == "GantryDetectorTilt" and original["slices"] == 3
    # recorded in slice order, along the normal (feet to head here)
    assert original["slice_positions_lps_mm"] == [[round(v, 4) for v in p] for p in positions[::-1]]
    # the resampled grid is a box: orthogonal axes, 4 mm along the slice normal
    directions = volume.affine[:3, :3] / np.linalg.norm(volume.affine[:3, :3], axis=0)
    assert np.allclose(directions.T @ directions, np.eye(3), atol=1e-9)
    assert volume.spacing[2] == pytest.approx(step)
    for k, ds in enumerate(real_slices):
        hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        for row in (40, 200, 333, 470):
            for col in (60, 256, 401):
                index = _index(volume.affine, _world(ds, positions[k], row, col))
                assert np.allclose(index, np.round(index), atol=1e-6), index
                i, j, z = (int(v) for v in np.round(index))
                assert volume.array[i, j, z] == hu[row, col], (k, row, col)


def test_4mm_then_7mm_spacing_is_resampled_onto_a_regular_grid(
    real_slices: list[pydicom.Dataset], tmp_path: Path
) -> None:
    base = [float(v) for v in real_slices[0].ImagePositionPatient]
    distances = [0.0, 4.0, 11.0]  # steps of 4 mm then 7 mm, going feet-wards like the originals
    positions = [[base[0], base[1], base[2] - d] for d in distances]
    volume = _load(_write(real_slices, tmp_path / "irregular", positions))

    warning = next(w for w in volume.warnings if "resampled" in w)
    assert "irregular slice spacing" in warning and "steps 4.00, 7.00 mm" in warning
    original = volume.metadata["original_geometry"]
    assert original["slice_distances_mm"] == [0.0, 7.0, 11.0]  # along the normal, from the lowest slice
    assert original["field"] == "ImagePositionPatient"
    assert volume.shape[2] == 4 and volume.spacing[2] == pytest.approx(11.0 / 3)  # never coarser than 4 mm
    hu = [ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for ds in real_slices]
    for row, col in ((100, 100), (256, 256), (300, 420)):
        # the first and last source slices are grid slices, exactly
        for k in (0, 2):
            i, j, z = (int(v) for v in np.round(_index(volume.affine, _world(real_slices[k], positions[k], row, col))))
            assert volume.array[i, j, z] == pytest.approx(hu[k][row, col])
        # the grid slice 11/3 mm above the lowest (source 2) lies between it and source 1, 7 mm above
        world = _world(real_slices[2], positions[2], row, col) + np.array([0.0, 0.0, 11.0 / 3])
        i, j, z = (int(v) for v in np.round(_index(volume.affine, world)))
        w = (11.0 / 3) / 7.0
        assert volume.array[i, j, z] == pytest.approx((1 - w) * hu[2][row, col] + w * hu[1][row, col], abs=1e-3)


def test_inspect_prints_the_resampled_geometry_and_the_tilt(real_slices: list[pydicom.Dataset], tmp_path: Path) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from radcurate.engine.cli.inspect_command import register

    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # keeps typer from collapsing to a single-command app
        """Placeholder."""

    first = real_slices[0]
    base = [float(v) for v in first.ImagePositionPatient]
    d_row = float(first.PixelSpacing[0])
    positions = [[base[0], base[1] + k * d_row, base[2] - 4.0 * k] for k in range(3)]
    folder = tmp_path / "tilted"
    _write(real_slices, folder, positions, tilt=11.46)
    result = CliRunner().invoke(app, ["inspect", str(folder)], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "gantry tilt 11.46° (GantryDetectorTilt)" in text
    assert "512 × 512 × 3" in text and "0.810547 × 0.810547 × 4" in text
    assert "resampled │ 3 slices (steps 4 mm, shear 11.455°) → 3 slices every 4 mm" in text
    report = json.loads(CliRunner().invoke(app, ["inspect", str(folder), "--json"]).output)
    assert report["volumes"][0]["original_geometry"]["gantry_detector_tilt_degrees"] == 11.46
