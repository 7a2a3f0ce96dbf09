"""Each slice's InstanceNumber travels with the volume, in the canonical layout (a viewer shows it
beside the slice number as PACS does), and the series' ConvolutionKernel with its metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from radcurate.plugins.loaders.dicom.series import DicomSeriesLoader

J2K = "dicom-ct-series-j2k-totalsegmentator"


def _load(folder: Path, files: list[Path] | None = None):  # noqa: ANN202
    loader = DicomSeriesLoader()
    found = loader.discover(files or sorted(p for p in folder.iterdir() if p.is_file() and p.name.startswith("CT")))
    (source,) = found.sources
    return loader.load(source)


def test_instance_numbers_follow_the_slices_position_in_lps(shared_data: Path) -> None:
    folder = shared_data / J2K
    volume = _load(folder)
    numbers, axis = volume.metadata["instance_numbers"], volume.metadata["instance_axis"]
    assert axis == 2 and len(numbers) == volume.shape[2] == 20
    inverse = np.linalg.inv(np.asarray(volume.affine, dtype=float))
    for path in sorted(p for p in folder.iterdir() if p.name.startswith("CT")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        voxel = inverse @ np.array([*(float(v) for v in ds.ImagePositionPatient), 1.0])
        assert numbers[int(round(voxel[2]))] == int(ds.InstanceNumber)  # the file at that z index
    # z grows to the head in LPS: this scanner numbered from the head, so the numbers fall along z
    assert numbers[0] == 286 and numbers[-1] == 267
    assert volume.metadata["convolution_kernel"] == "Br38f 3"


def test_a_slice_without_instance_number_gives_no_numbers(shared_data: Path, tmp_path: Path) -> None:
    files = []
    for i, path in enumerate(sorted(p for p in (shared_data / J2K).iterdir() if p.name.startswith("CT"))[:4]):
        ds = pydicom.dcmread(path)
        if i == 2:
            del ds.InstanceNumber
        ds.save_as(tmp_path / path.name)
        files.append(tmp_path / path.name)
    volume = _load(tmp_path, files)
    assert "instance_numbers" not in volume.metadata and volume.shape[2] == 4


@pytest.mark.parametrize("flip", [False, True])
def test_numbers_are_reordered_with_the_voxels(shared_data: Path, tmp_path: Path, flip: bool) -> None:
    """Renumbered files (feet first when ``flip``): the numbers still sit with their slices."""
    paths = sorted(p for p in (shared_data / J2K).iterdir() if p.name.startswith("CT"))[:5]
    for i, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        ds.InstanceNumber = (len(paths) - i) if flip else (i + 1)
        ds.save_as(tmp_path / path.name)
    volume = _load(tmp_path, [tmp_path / p.name for p in paths])
    # files sorted by name run head to feet here, i.e. from the highest z index down
    expected = list(range(1, 6)) if flip else list(range(5, 0, -1))
    assert volume.metadata["instance_numbers"] == expected
