"""The NIfTI loader: RAS on disk → canonical LPS, checked voxel by voxel through world coordinates."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from radcurate.engine.contracts.plugins import VolumeLoader, VolumeSource
from radcurate.engine.errors import InputError
from radcurate.engine.volumes.volume import Volume
from radcurate.plugins.loaders.nifti import NiftiLoader

NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"


@pytest.fixture(scope="module")
def loader() -> NiftiLoader:
    return NiftiLoader()


def load_one(loader: NiftiLoader, path: Path) -> Volume:
    found = loader.discover([path])
    assert not found.rejected, found.rejected
    return loader.load(found.sources[0])


def assert_world_mapping(volume: Volume, path: Path, samples: int = 50) -> None:
    """Stored voxel (a, b, c) → RAS mm (nibabel) → LPS mm → our voxel: same value everywhere."""
    img = nib.load(str(path))
    stored = np.asanyarray(img.dataobj)
    stored = stored.reshape(stored.shape[:3])
    rng = np.random.default_rng(1)
    shape = np.array(stored.shape[:3])
    for abc in [np.zeros(3, int), shape - 1, *(rng.integers(0, shape) for _ in range(samples))]:
        x, y, z, _ = img.affine @ np.append(abc, 1.0)
        ijk = np.linalg.solve(volume.affine, [-x, -y, z, 1.0])[:3]
        np.testing.assert_allclose(ijk, np.round(ijk), atol=1e-6)
        assert volume.array[tuple(np.round(ijk).astype(int))] == stored[tuple(abc)], f"stored voxel {tuple(abc)}"


def assert_lps_axes(volume: Volume) -> None:
    directions = volume.affine[:3, :3]
    assert list(np.abs(directions).argmax(axis=0)) == [0, 1, 2] and np.all(np.diag(directions) > 0)


def test_the_loader_honours_the_plugin_contract(loader: NiftiLoader) -> None:
    assert isinstance(loader, VolumeLoader)
    assert (NiftiLoader.name, NiftiLoader.version) == ("nifti", "1.0.0")


def test_chest_crop_stored_lps(loader: NiftiLoader, shared_data: Path) -> None:
    path = shared_data / "nifti-ct-totalsegmentator" / "chest_ct_crop_pulmonary_1.5mm.nii.gz"
    volume = load_one(loader, path)
    assert volume.shape == (122, 102, 112)
    assert volume.spacing == pytest.approx((1.5, 1.5, 1.5))
    assert volume.array.dtype == np.int16 and volume.hu_range == (-1064, 3343)
    assert volume.metadata["affine_source"] == "sform" and volume.metadata["stored_axis_codes"] == "LPS"
    stored = np.asanyarray(nib.load(str(path)).dataobj)
    np.testing.assert_array_equal(volume.array, stored)  # already LPS: no flip
    assert_lps_axes(volume)
    assert_world_mapping(volume, path)
    assert volume.warnings == []


def test_abdomen_stored_ras_is_flipped_to_lps(loader: NiftiLoader, shared_data: Path) -> None:
    path = shared_data / "nifti-ct-totalsegmentator" / "abdomen_ct_small_3mm.nii.gz"
    volume = load_one(loader, path)
    img = nib.load(str(path))
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    assert volume.shape == (122, 101, 30)
    assert volume.spacing == pytest.approx((3.0, 3.0, 3.0))
    assert volume.hu_range == (-1100, 1207)
    assert_lps_axes(volume)
    # A known voxel: stored (10, 20, 5) lies at RAS (x, y, z); in LPS that is (-x, -y, z), which the
    # flipped x and y axes reach at index (121 - 10, 100 - 20, 5).
    x, y, z, _ = img.affine @ [10, 20, 5, 1]
    np.testing.assert_allclose(volume.affine @ [111, 80, 5, 1], [-x, -y, z, 1])
    assert volume.array[111, 80, 5] == np.asanyarray(img.dataobj)[10, 20, 5]
    assert_world_mapping(volume, path)


def _write(
    path: Path,
    data: np.ndarray,
    affine: np.ndarray,
    *,
    slope: float = 1.0,
    inter: float = 0.0,
    qform_only: bool = False,
) -> Path:
    img = nib.Nifti1Image(data, affine)
    img.header.set_slope_inter(slope, inter)
    if qform_only:
        img.set_sform(None, code=0)
        img.set_qform(affine, code=1)
    nib.save(img, str(path))
    return path


def test_scaling_keeps_int16_when_exact(loader: NiftiLoader, tmp_path: Path) -> None:
    stored = np.arange(24, dtype=np.int16).reshape(2, 3, 4) * 100
    exact = load_one(loader, _write(tmp_path / "exact.nii.gz", stored, np.eye(4), inter=-1024))
    assert exact.array.dtype == np.int16
    assert exact.hu_range == (-1024, 2300 - 1024)
    half = load_one(loader, _write(tmp_path / "half.nii", stored + 1, np.eye(4), slope=0.5, inter=-1000))
    assert half.array.dtype == np.float32 and half.hu_range == (-999.5, 150.5)
    even = load_one(loader, _write(tmp_path / "even.nii", stored, np.eye(4), slope=0.5, inter=-1000))
    assert even.array.dtype == np.int16  # fractional slope, whole results: still exact
    whole_floats = load_one(loader, _write(tmp_path / "floats.nii.gz", stored.astype(np.float32) - 1000, np.eye(4)))
    assert whole_floats.array.dtype == np.int16


def test_qform_only_and_permuted_axes(loader: NiftiLoader, tmp_path: Path) -> None:
    # Axes stored as (S, A, R): axis 0 runs superior, axis 1 anterior, axis 2 right.
    affine = np.array([[0, 0, -0.8, 50], [0, 0.9, 0, -30], [2.5, 0, 0, 10], [0, 0, 0, 1.0]])
    stored = np.random.default_rng(0).integers(-1000, 1000, size=(6, 7, 8)).astype(np.int16)
    path = _write(tmp_path / "permuted.nii.gz", stored, affine, qform_only=True)
    volume = load_one(loader, path)
    assert volume.metadata["affine_source"] == "qform"
    assert volume.shape == (8, 7, 6)
    assert volume.spacing == pytest.approx((0.8, 0.9, 2.5), abs=1e-5)
    assert_lps_axes(volume)
    assert_world_mapping(volume, path)


def test_4d_is_refused_but_a_trailing_singleton_is_not(loader: NiftiLoader, tmp_path: Path) -> None:
    found = loader.discover([NIBABEL_DATA / "example4d.nii.gz"])
    assert not found.sources and found.rejected[0].field == "dim"
    assert "4-D image (128, 96, 24, 2)" in found.rejected[0].reason
    with pytest.raises(InputError) as caught:
        loader.load(VolumeSource("nifti", (str(NIBABEL_DATA / "example4d.nii.gz"),), "s", "s"))
    assert caught.value.field == "dim"
    singleton = _write(tmp_path / "single.nii.gz", np.full((4, 5, 6, 1), -1000, np.int16), np.eye(4))
    assert load_one(loader, singleton).shape == (4, 5, 6)


def test_non_ct_values_warn(loader: NiftiLoader) -> None:
    volume = load_one(loader, NIBABEL_DATA / "standard.nii.gz")
    assert any("do not look like CT Hounsfield units" in w for w in volume.warnings)


def test_unclaimed_corrupt_and_truncated_files(loader: NiftiLoader, tmp_path: Path) -> None:
    other = tmp_path / "report.txt"
    other.write_text("not an image")
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(gzip.compress(b"\x00" * 100))
    found = loader.discover([other, garbage])
    assert found.claimed == {str(garbage)}
    assert found.rejected[0].path == str(garbage) and found.rejected[0].field == "sizeof_hdr"

    whole = _write(tmp_path / "whole.nii", np.zeros((20, 20, 20), np.int16), np.eye(4))
    cut = tmp_path / "cut.nii"
    cut.write_bytes(whole.read_bytes()[:2000])
    source = loader.discover([cut]).sources[0]  # the header alone looks fine
    with pytest.raises(InputError) as caught:
        loader.load(source)
    assert caught.value.path == str(cut) and caught.value.field == "vox_offset"


# --------------------------------------------------------------------------- values and geometry
@pytest.fixture
def real_crop(shared_data: Path) -> nib.Nifti1Image:
    """A 40×40×20 crop of the real chest CT (int16 HU, 1.5 mm, sform only), as a float32 image."""
    path = shared_data / "nifti-ct-totalsegmentator" / "chest_ct_crop_pulmonary_1.5mm.nii.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found (see shared/data/MANIFEST.md)")
    img = nib.load(str(path))
    data = np.asarray(img.dataobj[40:80, 30:70, 40:60], dtype=np.float32)
    out = nib.Nifti1Image(data, img.affine, img.header)
    out.set_data_dtype(np.float32)
    return out


def _save(img: nib.Nifti1Image, path: Path) -> Path:
    nib.save(img, str(path))
    return path


def test_all_non_finite_is_refused_naming_the_data(loader: NiftiLoader, real_crop, tmp_path: Path) -> None:
    data = np.full(real_crop.shape, np.nan, dtype=np.float32)
    data[::2] = np.inf
    path = _save(nib.Nifti1Image(data, real_crop.affine, real_crop.header), tmp_path / "all_nan.nii.gz")
    found = loader.discover([path])
    with pytest.raises(InputError) as caught:
        loader.load(found.sources[0])
    assert caught.value.field == "data (voxel values)" and caught.value.path == str(path)
    assert "no finite voxel: all 32,000 values are NaN or infinite" in caught.value.reason


def test_partly_non_finite_imports_with_the_count(loader: NiftiLoader, real_crop, tmp_path: Path) -> None:
    data = np.asarray(real_crop.dataobj, dtype=np.float32).copy()
    lowest = float(data.min())
    data[0, :10, 0] = np.nan
    data[5, 5, :3] = -np.inf
    path = _save(nib.Nifti1Image(data, real_crop.affine, real_crop.header), tmp_path / "some_nan.nii.gz")
    volume = load_one(loader, path)
    assert any("13 of 32,000 voxels (0.04%) are NaN or infinite" in w for w in volume.warnings), volume.warnings
    assert np.all(np.isfinite(volume.array)) and float(volume.array.min()) == lowest


@pytest.mark.parametrize(
    ("breakage", "field"),
    [("zero_srow", "srow_x"), ("singular_srow", "srow_x"), ("zero_pixdim_qform", "pixdim"), ("nan_srow", "srow_x")],
)
def test_zero_or_singular_geometry_is_refused_naming_the_field(
    loader: NiftiLoader, real_crop, tmp_path: Path, breakage: str, field: str
) -> None:
    img = nib.Nifti1Image(np.asarray(real_crop.dataobj), real_crop.affine, real_crop.header)
    header = img.header
    if breakage == "zero_srow":
        header["srow_x"] = [0.0, 0.0, 0.0, 10.0]
    elif breakage == "singular_srow":
        header["srow_y"] = header["srow_x"]  # two axes in one direction
    elif breakage == "nan_srow":
        header["srow_z"] = [0.0, 0.0, np.nan, 0.0]
    else:
        header.set_sform(None, code=0)
        header.set_qform(real_crop.affine, code=1)
        header["pixdim"][1] = 0.0
    path = tmp_path / f"{breakage}.nii"
    nib.save(nib.Nifti1Image(np.asarray(real_crop.dataobj), None, header), str(path))
    if breakage == "zero_pixdim_qform":  # nibabel repairs pixdim on save; write the zero as a broken tool would
        raw = bytearray(path.read_bytes())
        raw[80:84] = np.float32(0.0).tobytes()  # pixdim[1], NIfTI-1 header offset 76 + 4
        path.write_bytes(bytes(raw))
    found = loader.discover([path])
    assert not found.sources and [r.field for r in found.rejected] == [field]
    assert "Error" not in found.rejected[0].reason  # a sentence, not a Python exception
    with pytest.raises(InputError) as caught:  # loading it directly says the same
        loader.load(VolumeSource(loader="nifti", files=(str(path),), study_key="s", series_key="s"))
    assert caught.value.field == field and "\n" not in str(caught.value)
