"""The DICOM loader on real series: geometry and HU checked against independent pydicom reads.

Expected values come from the headers (read here with plain pydicom), never from the loader, and
HU at sampled voxels is compared with ``pixel_array * RescaleSlope + RescaleIntercept`` of the
file whose plane holds the voxel's world position: an index mapping done the long way round.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest

from radcurate.engine.contracts.plugins import VolumeLoader, VolumeSource
from radcurate.engine.errors import InputError
from radcurate.engine.volumes.volume import Volume, content_checksum
from radcurate.plugins.loaders.dicom.series import DicomSeriesLoader
from tests.plugins.loaders.dicom_corpus import write_ct_series, write_enhanced_ct

PYDICOM_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent  # type: ignore[arg-type]
CT5N = PYDICOM_FILES / "dicomdirtests" / "98892001" / "CT5N"
CT2_WITH_GAP = PYDICOM_FILES / "dicomdirtests" / "77654033" / "CT2"


@pytest.fixture(scope="module")
def loader() -> DicomSeriesLoader:
    return DicomSeriesLoader()


def dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("LICENSE"))


class Reference:
    """One file read with plain pydicom: its plane geometry and its HU image."""

    def __init__(self, path: Path):
        ds = pydicom.dcmread(path)
        self.path = path
        self.position = np.array([float(v) for v in ds.ImagePositionPatient])
        iop = [float(v) for v in ds.ImageOrientationPatient]
        self.row_dir, self.col_dir = np.array(iop[:3]), np.array(iop[3:])
        self.normal = np.cross(self.row_dir, self.col_dir)
        self.row_spacing, self.col_spacing = (float(v) for v in ds.PixelSpacing)
        self.hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        self.header = ds


def expected_hu(refs: list[Reference], world: np.ndarray) -> float:
    """HU at an LPS point that lies on one of the slices, found by geometry alone."""
    for ref in refs:
        offset = world - ref.position
        if abs(offset @ ref.normal) < 1e-3:
            col = offset @ ref.row_dir / ref.col_spacing
            row = offset @ ref.col_dir / ref.row_spacing
            assert abs(col - round(col)) < 1e-3 and abs(row - round(row)) < 1e-3
            return float(ref.hu[int(round(row)), int(round(col))])
    raise AssertionError(f"no slice at {world}")


def assert_hu_matches(volume: Volume, refs: list[Reference], samples: int = 40, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    shape = np.array(volume.shape)
    corners = [np.zeros(3, int), shape - 1, np.array([shape[0] - 1, 0, shape[2] - 1]), shape // 2]
    for index in corners + [rng.integers(0, shape) for _ in range(samples)]:
        world = (volume.affine @ np.append(index, 1.0))[:3]
        assert volume.array[tuple(index)] == expected_hu(refs, world), f"voxel {tuple(index)}"


def assert_lps_axes(volume: Volume) -> None:
    """Each array axis points (mostly) to +L, +P, +S: the canonical layout."""
    directions = volume.affine[:3, :3]
    assert list(np.abs(directions).argmax(axis=0)) == [0, 1, 2]
    assert np.all(np.diag(directions) > 0)
    assert volume.orientation == "LPS"
    np.testing.assert_allclose(volume.spacing, np.linalg.norm(directions, axis=0))


def test_the_loader_honours_the_plugin_contract(loader: DicomSeriesLoader) -> None:
    assert isinstance(loader, VolumeLoader)
    assert (DicomSeriesLoader.name, DicomSeriesLoader.version) == ("dicom", "1.0.0")


def test_uncompressed_three_slice_ct(loader: DicomSeriesLoader, shared_data: Path) -> None:
    folder = shared_data / "dicom-ct-3slice-dcmqi"
    found = loader.discover(sorted(folder.iterdir()))
    assert str(folder / "LICENSE.txt") not in found.claimed  # not DICOM: left for others
    assert not found.rejected and len(found.sources) == 1
    source = found.sources[0]
    refs = [Reference(p) for p in dicom_files(folder)]
    header = refs[0].header
    assert source.study_key == header.AccessionNumber == "03086212"
    assert source.series_key == header.SeriesInstanceUID

    volume = loader.load(source)
    zs = sorted(ref.position[2] for ref in refs)
    assert volume.shape == (header.Columns, header.Rows, len(refs)) == (512, 512, 3)
    np.testing.assert_allclose(volume.spacing, (0.810547, 0.810547, zs[1] - zs[0]), atol=1e-5)
    np.testing.assert_allclose(volume.spacing[2], 1.0, atol=1e-5)
    lowest = min(refs, key=lambda r: r.position[2])
    assert lowest.path.name == "03.dcm"  # z descends with the file names; k=0 is the lowest slice
    np.testing.assert_allclose(volume.affine[:3, 3], lowest.position)
    assert_lps_axes(volume)
    assert volume.array.dtype == np.int16
    assert volume.hu_range[0] == -2000 * 1 - 1024  # PixelPaddingValue kept, not clipped
    assert volume.metadata["transfer_syntax"] == "1.2.840.10008.1.2"
    assert volume.metadata["accession_number"] == "03086212"
    assert any("PixelPaddingValue -2000" in w and "-3024 HU" in w for w in volume.warnings)
    assert any("SliceThickness 1.25 mm > slice spacing 1 mm" in w for w in volume.warnings)
    assert volume.checksum == content_checksum(np.ascontiguousarray(volume.array), volume.spacing, volume.affine)
    assert_hu_matches(volume, refs)


def test_slice_order_comes_from_positions_not_names(
    loader: DicomSeriesLoader, shared_data: Path, tmp_path: Path
) -> None:
    folder = shared_data / "dicom-ct-3slice-dcmqi"
    renamed = {"01.dcm": "b", "02.dcm": "c", "03.dcm": "a"}
    for old, new in renamed.items():
        shutil.copy(folder / old, tmp_path / new)
    original = loader.load(loader.discover(dicom_files(folder)).sources[0])
    shuffled = loader.load(VolumeSource("dicom", tuple(str(tmp_path / n) for n in "cab"), "s", "s"))
    assert shuffled.checksum == original.checksum


def test_jpeg2000_series_with_empty_uids(loader: DicomSeriesLoader, shared_data: Path) -> None:
    folder = shared_data / "dicom-ct-series-j2k-totalsegmentator"
    found = loader.discover(sorted(folder.iterdir()))
    assert not found.rejected and len(found.sources) == 1 and len(found.claimed) == 20
    source = found.sources[0]
    refs = [Reference(p) for p in dicom_files(folder)]
    assert refs[0].header.SeriesInstanceUID == "" and refs[0].header.StudyInstanceUID == ""
    assert source.study_key == folder.name  # no accession, no study UID: the folder names the study
    assert source.series_key.startswith("for:")  # FrameOfReferenceUID + geometry

    volume = loader.load(source)
    zs = sorted(ref.position[2] for ref in refs)
    assert volume.shape == (512, 512, 20)
    np.testing.assert_allclose(volume.spacing, (0.9765625, 0.9765625, zs[1] - zs[0]))
    assert volume.spacing[2] == pytest.approx(2.0)
    np.testing.assert_allclose(volume.affine[:3, 3], [-249.51171875, -437.51171875, -804.5])
    assert_lps_axes(volume)
    assert volume.array.dtype == np.int16 and volume.hu_range[0] >= -1024
    assert volume.metadata["transfer_syntax"] == "1.2.840.10008.1.2.4.90"
    assert volume.metadata["series_instance_uid"] == "" and volume.metadata["study_instance_uid"] == ""
    assert any("overlapping reconstruction: SliceThickness 3 mm > slice spacing 2 mm" in w for w in volume.warnings)
    assert_hu_matches(volume, refs)  # our decoder choice (pylibjpeg) agrees with pydicom's default


def test_single_slice_ct_small(loader: DicomSeriesLoader) -> None:
    path = PYDICOM_FILES / "CT_small.dcm"
    found = loader.discover([path])
    volume = loader.load(found.sources[0])
    ref = Reference(path)
    assert volume.shape == (128, 128, 1)
    np.testing.assert_allclose(volume.spacing, (0.661468, 0.661468, float(ref.header.SpacingBetweenSlices)))
    assert any("single slice" in w for w in volume.warnings)
    assert_lps_axes(volume)
    assert_hu_matches(volume, [ref])


def test_dicomdir_ct_series_sorted_against_instance_numbers(loader: DicomSeriesLoader) -> None:
    found = loader.discover(dicom_files(CT5N))
    refs = sorted((Reference(p) for p in dicom_files(CT5N)), key=lambda r: r.position[2])
    volume = loader.load(found.sources[0])
    assert volume.shape == (16, 16, 5)
    np.testing.assert_allclose(volume.spacing, (0.488281, 0.488281, 2.5), atol=1e-6)
    assert [int(r.header.InstanceNumber) for r in refs] == [10, 9, 8, 7, 6]  # numbering runs head-first
    for k, ref in enumerate(refs):  # slice k is the k-th lowest position, transposed to (x, y)
        np.testing.assert_array_equal(volume.array[:, :, k], ref.hu.T)
    assert_hu_matches(volume, refs)


def test_series_with_a_gap_is_refused_by_name(loader: DicomSeriesLoader) -> None:
    files = dicom_files(CT2_WITH_GAP)
    found = loader.discover(files)
    assert not found.sources
    assert {r.path for r in found.rejected} == {str(p) for p in files}
    assert {r.field for r in found.rejected} == {"ImagePositionPatient"}
    assert "161 missing slice(s)" in found.rejected[0].reason and "202.50 mm" in found.rejected[0].reason
    with pytest.raises(InputError) as caught:
        loader.load(VolumeSource("dicom", tuple(map(str, files)), "s", "s"))
    assert caught.value.field == "ImagePositionPatient" and "missing slice" in caught.value.reason


def test_enhanced_multiframe_ct_equals_its_single_frame_series(loader: DicomSeriesLoader, tmp_path: Path) -> None:
    enhanced = write_enhanced_ct(tmp_path / "mf")
    series = write_ct_series(tmp_path / "series", name="enhanced")  # the same slices, one per file
    found = loader.discover(enhanced)
    assert len(found.sources) == 1 and found.sources[0].files == tuple(map(str, enhanced))
    multiframe = loader.load(found.sources[0])
    single = loader.load(loader.discover(series).sources[0])
    assert multiframe.shape == single.shape == (128, 128, 5)
    np.testing.assert_array_equal(multiframe.array, single.array)
    np.testing.assert_allclose(multiframe.affine, single.affine, atol=1e-4)
    assert multiframe.array.dtype == np.int16


def _rewrite(paths: list[Path], orientation: list[float], step: np.ndarray) -> None:
    for index, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        ds.ImageOrientationPatient = orientation
        ds.ImagePositionPatient = list(np.array([10.0, -20.0, 30.0]) + step * (len(paths) - 1 - index))
        ds.save_as(path)


@pytest.mark.parametrize(
    ("orientation", "step", "shape"),
    [
        ([-1, 0, 0, 0, -1, 0], np.array([0, 0, 2.5]), (128, 128, 5)),  # rows and columns run R and A
        ([1, 0, 0, 0, 0, -1], np.array([0, 2.5, 0]), (128, 5, 128)),  # coronal slices stacked along P
        ([0, 1, 0, 0, 0, -1], np.array([-2.5, 0, 0]), (5, 128, 128)),  # sagittal, stacked toward R
    ],
    ids=["feet-first-flip", "coronal", "sagittal"],
)
def test_any_acquisition_plane_is_reoriented_to_lps(
    loader: DicomSeriesLoader, tmp_path: Path, orientation: list[float], step: np.ndarray, shape: tuple
) -> None:
    paths = write_ct_series(tmp_path, name="plane")
    _rewrite(paths, orientation, step)
    volume = loader.load(loader.discover(paths).sources[0])
    assert volume.shape == shape
    assert_lps_axes(volume)
    assert sorted(volume.spacing) == pytest.approx(sorted([0.661468, 0.661468, 2.5]))
    assert_hu_matches(volume, [Reference(p) for p in paths], samples=60)


def test_fractional_rescale_gives_float32(loader: DicomSeriesLoader, tmp_path: Path) -> None:
    paths = write_ct_series(tmp_path, name="fraction")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.RescaleSlope, ds.RescaleIntercept = 0.5, -1024.25
        ds.save_as(path)
    volume = loader.load(loader.discover(paths).sources[0])
    assert volume.array.dtype == np.float32
    assert_hu_matches(volume, [Reference(p) for p in paths])


@pytest.mark.parametrize(
    "syntax",
    [
        pydicom.uid.RLELossless,
        pydicom.uid.JPEG2000Lossless,
        pydicom.uid.JPEGLSLossless,
        pydicom.uid.DeflatedExplicitVRLittleEndian,
    ],
    ids=lambda uid: uid.name,
)
def test_compressed_syntaxes_decode_to_the_same_volume(loader: DicomSeriesLoader, tmp_path: Path, syntax: str) -> None:
    plain = write_ct_series(tmp_path / "plain", name="codec")
    packed = write_ct_series(tmp_path / "packed", name="codec")
    for path in packed:
        ds = pydicom.dcmread(path)
        if syntax == pydicom.uid.DeflatedExplicitVRLittleEndian:
            ds.file_meta.TransferSyntaxUID = syntax  # the whole dataset is deflated on write
        else:
            ds.compress(syntax)
        ds.save_as(path)
    expected = loader.load(loader.discover(plain).sources[0])
    volume = loader.load(loader.discover(packed).sources[0])
    assert volume.metadata["transfer_syntax"] == syntax
    assert volume.checksum == expected.checksum  # same voxels, same geometry: same checksum
