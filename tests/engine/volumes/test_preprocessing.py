"""Preprocessing (MONAI Spacing → HU clip/scale → pad → crop) and its on-disk cache."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from radcurate.engine.ingest import imports as ingest
from radcurate.engine.project import Project
from radcurate.engine.settings import PreprocessingSettings, preset
from radcurate.engine.volumes import preprocessing
from radcurate.engine.volumes.volume import Volume, content_checksum

pytest.importorskip("monai")
pytest.importorskip("torch")

DCMQI = "dicom-ct-3slice-dcmqi"


def synthetic(shape=(40, 30, 20), spacing=(2.0, 2.0, 4.0), seed=0) -> Volume:
    array = np.random.default_rng(seed).integers(-3024, 1500, size=shape).astype(np.int16)
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-100.0, 50.0, 300.0]
    return Volume(array, spacing, affine, "CT", "synthetic", content_checksum(array, spacing, affine))


def test_clip_scale_pad_and_centre_crop_match_the_formula_exactly() -> None:
    volume = synthetic()
    settings = PreprocessingSettings(spacing=(2.0, 2.0, 4.0), shape=(32, 36, 20))  # no resampling needed
    out = preprocessing.preprocess(volume, settings)
    expected = np.full((32, 36, 20), -1.0, dtype=np.float32)  # pad = air = (-1000 + 400) / 600
    expected[:, 3:33, :] = np.clip((volume.array[4:36].astype(np.float32) + 400) / 600, -1, 1)
    assert out.dtype == np.float32 and out.shape == (1, 32, 36, 20)  # one window, one channel
    assert np.abs(out[0] - expected).max() < 1e-6
    assert out.min() == -1.0 and out.max() == 1.0  # [-1000, 200] HU → [-1, 1]


def test_two_windows_are_two_channels_and_keep_metal_apart_from_bone() -> None:
    volume = synthetic()
    settings = PreprocessingSettings(spacing=(2.0, 2.0, 4.0), shape=(32, 36, 20), windows=((-1000, 200), (-200, 1500)))
    out = preprocessing.preprocess(volume, settings)
    assert out.shape == (2, 32, 36, 20)
    hu = volume.array[4:36].astype(np.float32)
    wide = np.clip((hu + 400) / 600, 1 / 3, 1900 / 600)
    assert np.abs(out[1, :, 3:33, :] - wide).max() < 1e-5
    assert (out[1, :, :3, :] == np.float32(1 / 3)).all()  # the wide channel pads with its own air
    bone, metal = (hu > 300) & (hu < 600), hu > 1400
    assert out[0][:, 3:33][bone].min() == out[0][:, 3:33][metal].max() == 1.0  # the seed window: the same
    assert out[1][:, 3:33][bone].max() < out[1][:, 3:33][metal].min()  # the wide window: apart


def test_resampling_follows_the_spacing_setting_and_keeps_lps_axes() -> None:
    volume = synthetic(shape=(40, 30, 20))
    marked = volume.array.copy()
    marked[:] = -1000
    marked[:10] = 200  # a bright slab on the patient's right (low X): must stay at low X
    volume = dataclasses.replace(volume, array=marked)
    settings = PreprocessingSettings(spacing=(4.0, 4.0, 8.0), shape=(8, 8, 4))
    full = preprocessing.resample_and_scale(volume, settings)[0]
    assert full.shape[0] == 20 and full.shape[2] == 10  # twice the voxel size, half the voxels
    assert full[:4].mean() == pytest.approx(1.0) and full[-6:].mean() == pytest.approx(-1.0)


def test_centre_crop_matches_monai_and_random_crop_is_seeded() -> None:
    import torch
    from monai.transforms import CenterSpatialCrop

    array = np.random.default_rng(1).normal(size=(31, 40, 17)).astype(np.float32)
    for shape in [(16, 16, 8), (31, 39, 17), (7, 40, 2)]:
        ours = preprocessing.center_crop(array, shape)
        theirs = CenterSpatialCrop(shape)(torch.from_numpy(array)[None])[0].numpy()
        assert np.array_equal(ours, theirs), shape
    a, b = (preprocessing.random_crop(array, (16, 16, 8), seed=3) for _ in range(2))
    c = preprocessing.random_crop(array, (16, 16, 8), seed=4)
    assert a.shape == (16, 16, 8) and np.array_equal(a, b) and not np.array_equal(a, c)
    hits = [np.argwhere(array == a[0, 0, 0])]  # the crop is a block of the input, not a resample
    i, j, k = hits[0][0]
    assert np.array_equal(array[i : i + 16, j : j + 16, k : k + 8], a)


def test_a_bounded_training_crop_stays_within_its_jitter_of_the_centre() -> None:
    """``jitter`` voxels per axis: every crop starts within that many voxels of the eval centre
    crop's start, several distinct crops occur, and (0, 0, 0) is the centre crop itself."""
    array = np.arange(40 * 36 * 20, dtype=np.float32).reshape(40, 36, 20)
    shape = (24, 24, 12)
    centre = preprocessing.center_crop(array, shape)
    c0 = np.argwhere(array == centre[0, 0, 0])[0]
    starts = set()
    for seed in range(40):
        crop = preprocessing.random_crop(array, shape, seed=seed, jitter=(2, 3, 1))
        start = np.argwhere(array == crop[0, 0, 0])[0]
        assert crop.shape == shape and np.all(np.abs(start - c0) <= (2, 3, 1)), (seed, start - c0)
        starts.add(tuple(start))
    assert len(starts) > 10
    assert np.array_equal(preprocessing.random_crop(array, shape, seed=5, jitter=(0, 0, 0)), centre)
    assert preprocessing.jitter_voxels(10.0, (5.0, 5.0, 8.0)) == (2, 2, 1)
    assert preprocessing.jitter_voxels(-1.0, (5.0, 5.0, 8.0)) is None


def test_settings_hash_changes_with_every_setting() -> None:
    base = PreprocessingSettings()
    hashes = {preprocessing.settings_hash(base)}
    for name, value in [
        ("spacing", (1.0, 1.0, 1.0)),
        ("windows", ((-1024.0, 200.0),)),
        ("windows", ((-1000.0, 200.0), (-200.0, 1500.0))),
        ("scale_offset", 0.0),
        ("scale_divisor", 1.0),
        ("shape", (64, 64, 32)),
    ]:
        hashes.add(preprocessing.settings_hash(dataclasses.replace(base, **{name: value})))
    assert len(hashes) == 7


@pytest.fixture
def imported(project: Project, shared_data: Path, tmp_path: Path) -> tuple[Project, str, Path]:
    folder = tmp_path / "ct"
    shutil.copytree(shared_data / DCMQI, folder)
    project.import_paths([folder])
    (study,) = project.study_ids()
    (series,) = project.series(study)
    return project, series.id, folder


def test_project_preprocessed_real_dicom_and_cache_hit_reads_no_dicom(imported, monkeypatch) -> None:
    project, series_id, folder = imported
    loads = []
    loader = ingest.loader_named("dicom")
    real_load = loader.load
    monkeypatch.setattr(loader, "load", lambda source: loads.append(source) or real_load(source))
    settings = project.settings.preprocessing
    assert settings == preset("demo").preprocessing

    first = project.preprocessed(series_id)
    assert first.shape == (len(settings.windows), *settings.shape) and first.dtype == np.float32 and len(loads) == 1
    assert -1.0 <= first[0].min() and first[0].max() <= 1.0
    # 3 slices 1 mm apart = 3 mm of tissue, at 8 mm spacing = 1 slice, padded with air to 32.
    tissue = [k for k in range(settings.shape[2]) if (first[0, :, :, k] > -1.0).any()]
    assert len(tissue) == 1 and (first[0, :, :, : tissue[0]] == -1.0).all()
    cached = list((project.path / "cache").iterdir())
    assert [p.name for p in cached] == [
        f"{project.series(project.study_ids()[0])[0].checksum}-{preprocessing.settings_hash(settings)}.npy"
    ]

    folder.rename(folder.with_name("gone"))  # a hit must not need the DICOM files at all
    second = project.preprocessed(series_id)
    assert np.array_equal(first, second) and len(loads) == 1
    assert type(second) is np.ndarray and second.flags.writeable  # a copy, not the cache's memmap
    train = project.preprocessed(series_id, train=True, seed=0)
    assert train.shape == (len(settings.windows), *settings.shape) and len(loads) == 1


def test_other_settings_miss_and_a_damaged_entry_is_rebuilt(imported) -> None:
    project, series_id, _ = imported
    checksum = project.series(project.study_ids()[0])[0].checksum
    folder = project.path / "cache"
    demo = project.settings.preprocessing
    first = project.preprocessed(series_id)
    path = preprocessing.cache_path(folder, checksum, demo)
    path.write_bytes(b"not an npy file")
    rebuilt = project.preprocessed(series_id)
    assert np.array_equal(first, rebuilt)
    other = dataclasses.replace(demo, shape=(32, 32, 16))
    small = preprocessing.preprocessed(folder, checksum, other, lambda: project.load_volume(series_id))
    assert small.shape == (len(demo.windows), 32, 32, 16) and len(list(folder.glob("*.npy"))) == 2
    assert not list(folder.glob(".*.tmp"))


def test_real_nifti_chest_paper_preset_resamples_z_to_3mm_and_pads_with_air(shared_data: Path) -> None:
    from radcurate.engine.ingest.imports import loader_named

    loader = loader_named("nifti")
    file = shared_data / "nifti-ct-totalsegmentator" / "chest_ct_crop_pulmonary_1.5mm.nii.gz"
    (source,) = loader.discover([file]).sources
    volume = loader.load(source)
    assert volume.shape == (122, 102, 112) and np.allclose(volume.spacing, 1.5)
    settings = preset("paper").preprocessing
    out = preprocessing.preprocess(volume, settings)
    assert out.shape == (len(settings.windows), 192, 192, 96)
    out = out[0]
    inside = np.argwhere(out > -1.0)  # everything above -1000 HU: the scanned field of view
    extent = inside.max(axis=0) - inside.min(axis=0) + 1
    assert extent[2] == 56  # 112 slices × 1.5 mm = 168 mm at 3 mm
    assert extent[0] <= 122 and extent[1] <= 102  # x/y stay at 1.5 mm, padded symmetrically
    assert (out[:30] == -1.0).all() and (out[-30:] == -1.0).all()
