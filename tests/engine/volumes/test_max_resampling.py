"""``[preprocessing] resampling = [..., "max"]``: a one-voxel dense speck survives downsampling (issue #13).

The phantom draws a calcified plaque as about one voxel of 550–950 HU on a 6 × 6 × 8 mm grid;
trilinear resampling to 5 mm averages it with blood. A "max" window keeps the peak; the MONAI
chain (training) and the numpy chain (triage) must agree on it, and files, caches and models from
before the setting must keep loading and matching.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from radcurate.engine import settings as settings_mod
from radcurate.engine.errors import InputError
from radcurate.engine.settings import TWO_WINDOWS, PreprocessingSettings, preprocessing_identity
from radcurate.engine.volumes.numpy_preprocessing import (
    PreprocessingRecipe,
    max_footprint,
    preprocess_array,
    recipe_from_settings,
)
from radcurate.engine.volumes.volume import Volume, content_checksum

SPECK_HU = 800.0
WIDE = dict(spacing=(5.0, 5.0, 8.0), windows=TWO_WINDOWS, shape=(40, 40, 16))


def _speck_volume(offset: tuple[int, int, int]) -> Volume:
    """40 HU tissue on a 6 × 6 × 8 mm grid with one 800 HU voxel near the centre."""
    hu = np.full((30, 30, 12), 40, dtype=np.int16)
    hu[13 + offset[0], 15 + offset[1], 6 + offset[2]] = SPECK_HU
    affine = np.diag([6.0, 6.0, 8.0, 1.0])
    affine[:3, 3] = (-87.0, -87.0, -48.0)
    return Volume(hu, (6.0, 6.0, 8.0), affine, "CT", "speck", content_checksum(hu, (6.0, 6.0, 8.0), affine))  # type: ignore[arg-type]


def _wide_peak_hu(out: np.ndarray, settings: PreprocessingSettings) -> float:
    """The wide channel's maximum, back in HU."""
    return float(out[1].max() * settings.scale_divisor - settings.scale_offset)


def test_footprint_sizes_follow_the_spacing_ratio() -> None:
    phantom = np.diag([6.0, 6.0, 8.0, 1.0])
    assert max_footprint((30, 30, 12), phantom, (5.0, 5.0, 8.0)) == (2, 2, 1)  # 6 → 5 mm: 2; 8 → 8 mm: none
    thin = np.diag([0.7, 0.7, 1.0, 1.0])
    assert max_footprint((512, 512, 300), thin, (5.0, 5.0, 2.0)) == (9, 9, 2)  # ceil(7.14) + 1; whole factor 2


@pytest.mark.parametrize("offset", [(0, 0, 0), (1, 0, 0), (0, 1, 0), (2, 3, 0), (4, 1, 1)])
def test_max_keeps_a_one_voxel_speck_and_linear_does_not(offset: tuple[int, int, int]) -> None:
    pytest.importorskip("monai")
    from radcurate.engine.volumes import preprocessing

    volume = _speck_volume(offset)
    linear = PreprocessingSettings(**WIDE)  # type: ignore[arg-type]
    peak = dataclasses.replace(linear, resampling=("linear", "max"))
    lin_out, max_out = preprocessing.preprocess(volume, linear), preprocessing.preprocess(volume, peak)
    assert _wide_peak_hu(max_out, peak) == pytest.approx(SPECK_HU, abs=1.0)
    assert np.array_equal(lin_out[0], max_out[0])  # the window left "linear" is untouched
    recipe = recipe_from_settings(peak)
    numpy_out = preprocess_array(volume.array, volume.affine, recipe)
    assert np.abs(numpy_out - max_out).max() <= 1e-4  # triage computes what training saw
    assert _wide_peak_hu(lin_out, linear) <= SPECK_HU


def test_the_linear_peak_is_lost_on_most_positions() -> None:
    """Over the 25 grid phases of a 6 → 5 mm axis pair, linear keeps under 3/4 of the speck on 20."""
    pytest.importorskip("monai")
    from radcurate.engine.volumes import preprocessing

    linear = PreprocessingSettings(**WIDE)  # type: ignore[arg-type]
    peaks = [
        _wide_peak_hu(preprocessing.preprocess(_speck_volume((i, j, 0)), linear), linear)
        for i in range(5)
        for j in range(5)
    ]
    assert sum(p < 0.75 * SPECK_HU for p in peaks) >= 15 and min(peaks) < 400


def test_recipe_json_carries_resampling_and_old_bundles_read_as_linear() -> None:
    recipe = recipe_from_settings(PreprocessingSettings(**WIDE, resampling=("linear", "max")))  # type: ignore[arg-type]
    assert [w.resampling for w in recipe.windows] == ["linear", "max"]
    assert PreprocessingRecipe.from_json(recipe.as_json()) == recipe
    old = recipe.as_json()
    for window in old["windows"]:
        del window["resampling"]
    assert [w.resampling for w in PreprocessingRecipe.from_json(old).windows] == ["linear", "linear"]
    bad = recipe.as_json()
    bad["windows"][1]["resampling"] = "nearest"
    with pytest.raises(InputError, match="linear' or 'max"):
        PreprocessingRecipe.from_json(bad)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('resampling = ["max"]', "one entry per window"),
        ('resampling = ["linear", "cubic"]', "unknown resampling 'cubic'"),
        ("resampling = [1, 2]", "linear"),
        ('resampling = "max"', "linear"),
    ],
)
def test_bad_resampling_names_the_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "radcurate.toml"
    path.write_text(f"[preprocessing]\nwindows = [[-1000, 200], [-200, 1500]]\n{line}\n")
    with pytest.raises(InputError, match=message) as info:
        settings_mod.load(path)
    assert info.value.field == "preprocessing.resampling" and str(path) in str(info.value)


def test_old_files_without_the_key_load_as_all_linear(tmp_path: Path) -> None:
    path = tmp_path / "radcurate.toml"
    path.write_text("[preprocessing]\nwindows = [[-1000, 200], [-200, 1500]]\n")
    loaded = settings_mod.load(path).preprocessing
    assert loaded.resampling == () and loaded.resampling_modes() == ("linear", "linear")
    path.write_text('[preprocessing]\nwindows = [[-1000, 200], [-200, 1500]]\nresampling = ["linear", "max"]\n')
    assert settings_mod.load(path).preprocessing.resampling_modes() == ("linear", "max")


def test_all_linear_keeps_old_cache_keys_and_old_models_match() -> None:
    pytest.importorskip("monai")
    from radcurate.engine.volumes import preprocessing

    base = PreprocessingSettings(**WIDE)  # type: ignore[arg-type]
    explicit = dataclasses.replace(base, resampling=("linear", "linear"))
    peak = dataclasses.replace(base, resampling=("linear", "max"))
    assert preprocessing.settings_hash(base) == preprocessing.settings_hash(explicit)
    assert preprocessing.settings_hash(base) != preprocessing.settings_hash(peak)
    old_model = {k: v for k, v in dataclasses.asdict(base).items() if k != "resampling"}  # saved before the key
    assert preprocessing_identity(old_model) == preprocessing_identity(dataclasses.asdict(explicit))
    assert preprocessing_identity(old_model) != preprocessing_identity(dataclasses.asdict(peak))
