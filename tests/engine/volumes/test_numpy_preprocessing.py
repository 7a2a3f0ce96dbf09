"""The numpy eval chain (triage) against MONAI's (training): ≤ 1e-4 on real CT and phantom volumes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radcurate.engine.demo.phantom.cases import plan_case, render_case
from radcurate.engine.errors import InputError
from radcurate.engine.settings import PRESET_RESAMPLING, PRESET_WINDOWS, TWO_WINDOWS, PreprocessingSettings
from radcurate.engine.volumes import preprocessing as monai_chain
from radcurate.engine.volumes.numpy_preprocessing import (
    PreprocessingRecipe,
    Window,
    output_grid,
    preprocess_array,
    preprocess_volume,
    recipe_from_settings,
)
from radcurate.engine.volumes.volume import Volume, content_checksum

pytest.importorskip("monai")

SETTINGS = [
    # demo-like: downsample, pad in Z, two linear windows
    PreprocessingSettings(spacing=(5.0, 5.0, 8.0), windows=TWO_WINDOWS, shape=(32, 32, 16)),
    PreprocessingSettings(spacing=(0.7, 1.1, 2.0), shape=(24, 40, 8)),  # upsample some axes, crop all; one window
    # the presets' three windows, the wide and calcium ones resampled "max" (a maximum filter before
    # the same Spacing)
    PreprocessingSettings(
        spacing=(5.0, 5.0, 8.0), windows=PRESET_WINDOWS, resampling=PRESET_RESAMPLING, shape=(32, 32, 16)
    ),
]


def _volume(array: np.ndarray, affine: np.ndarray) -> Volume:
    spacing = tuple(float(s) for s in np.sqrt((affine[:3, :3] ** 2).sum(0)))
    return Volume(array, spacing, affine, "CT", "test", content_checksum(array, spacing, affine))  # type: ignore[arg-type]


def _real_volumes(shared: Path) -> list[Volume]:
    from radcurate.plugins.loaders.dicom.series import DicomSeriesLoader
    from radcurate.plugins.loaders.nifti import NiftiLoader

    nifti, dicom = NiftiLoader(), DicomSeriesLoader()
    volumes = [nifti.load(nifti.discover([f]).sources[0]) for f in sorted(shared.glob("nifti-ct-*/*.nii.gz"))]
    for folder in ("dicom-ct-3slice-dcmqi", "dicom-ct-series-j2k-totalsegmentator"):
        files = sorted(p for p in (shared / folder).iterdir() if not p.name.startswith("LICENSE"))
        volumes.append(dicom.load(dicom.discover(files).sources[0]))
    return volumes


@pytest.mark.parametrize("settings", SETTINGS, ids=["downsample", "mixed", "presets-max"])
def test_real_ct_matches_monai(shared_data: Path, settings: PreprocessingSettings) -> None:
    recipe = recipe_from_settings(settings)
    volumes = _real_volumes(shared_data)
    assert len(volumes) == 4  # 2 NIfTI (LPS and RAS on disk), 2 DICOM series (JPEG 2000 and raw)
    for volume in volumes:
        expected = monai_chain.preprocess(volume, settings)
        got = preprocess_volume(volume, recipe)
        assert got.shape == expected.shape == (len(settings.windows), *settings.shape)
        assert np.abs(got - expected).max() <= 1e-4, volume.source


def test_phantom_and_oblique_match_monai() -> None:
    spec = plan_case(7, 3, shape=(48, 40, 24), spacing=(1.9, 1.9, 3.5))
    hu = render_case(spec)
    affine = np.diag([*spec.spacing, 1.0])
    affine[:3, 3] = spec.origin
    angle = np.deg2rad(7.0)  # an oblique acquisition: the map_coordinates path
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    oblique = affine.copy()
    oblique[:3, :3] = rotation @ affine[:3, :3]
    for a in (affine, oblique):
        for settings in (SETTINGS[0], SETTINGS[2]):
            volume = _volume(hu, a)
            expected = monai_chain.preprocess(volume, settings)
            assert np.abs(preprocess_volume(volume, recipe_from_settings(settings)) - expected).max() <= 1e-4


def test_output_size_is_monai_grid() -> None:
    """round((n − 1)·s/t) + 1 voxels, origin at the first voxel: what makes the sampling line up."""
    affine = np.diag([0.8, 0.8, 2.0, 1.0])
    affine[:3, 3] = (-100.0, -90.0, -300.0)
    shape, grid = output_grid((512, 512, 300), affine, (5.0, 5.0, 8.0))
    assert shape == (round(511 * 0.8 / 5) + 1, round(511 * 0.8 / 5) + 1, round(299 * 2 / 8) + 1)
    assert np.allclose(grid[:3, 3], affine[:3, 3]) and np.allclose(np.diag(grid)[:3], (5.0, 5.0, 8.0))


def test_windows_are_channels_with_their_own_air() -> None:
    recipe = PreprocessingRecipe(
        spacing=(1.0, 1.0, 1.0),
        windows=(Window(-1000.0, 200.0, -1.0, 1.0), Window(-200.0, 2000.0, 0.0, 1.0)),
        shape=(6, 6, 6),
    )
    hu = np.full((4, 4, 4), 1500.0, dtype=np.float32)  # metal/bone: saturates window 1, not window 2
    out = preprocess_array(hu, np.eye(4), recipe)
    assert out.shape == (2, 6, 6, 6)
    assert out[0, 3, 3, 3] == pytest.approx(1.0) and out[1, 3, 3, 3] == pytest.approx(1700 / 2200)
    assert out[0, 0, 0, 0] == -1.0 and out[1, 0, 0, 0] == 0.0  # the pad is each channel's air
    assert PreprocessingRecipe.from_json(recipe.as_json()) == recipe


def test_recipe_follows_settings_and_rejects_malformed() -> None:
    recipe = recipe_from_settings(PreprocessingSettings(windows=TWO_WINDOWS))
    assert recipe.windows == (Window(-1000.0, 200.0, -1.0, 1.0), Window(-200.0, 1500.0, 1 / 3, 19 / 6))
    assert recipe.shape == (192, 192, 96)
    with pytest.raises(InputError, match="preprocessing"):
        PreprocessingRecipe.from_json({"spacing": [1, 1], "windows": [], "shape": [1, 1, 1]})
    with pytest.raises(InputError, match="3-D"):
        preprocess_array(np.zeros((2, 2)), np.eye(4), recipe)
