"""Average+max global pooling: it sees a finding of a few voxels, survives save/load, CLIP init and ONNX.

Also the [training] values that shape the networks and their pairs are checked when the file loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from radcurate.engine.errors import InputError  # noqa: E402
from radcurate.engine.settings import load as load_settings  # noqa: E402
from radcurate.engine.training.clip_model import resnet18_encoder, split_supervised  # noqa: E402
from radcurate.engine.training.supervised import Architecture, build_network, pooled_features  # noqa: E402

TINY = Architecture(channels=2, findings=3, widen_factor=0.125, conv1_t_size=3, conv1_t_stride=2, pooling="avgmax")


def _network() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_network(TINY).eval()


def test_avgmax_doubles_the_features_and_a_small_blob_moves_the_max_half_most() -> None:
    network = _network()
    assert network.fc.in_features == TINY.features == 2 * 64
    x = torch.zeros(1, 2, 128, 128, 32)  # the last stage's grid: 4×4×1 cells
    blob = x.clone()
    blob[0, :, 20:23, 20:23, 14:17] = 3.0  # 27 voxels of half a million: a nodule-sized change
    with torch.no_grad():
        before, after = pooled_features(network, x), pooled_features(network, blob)
    change = (after - before).abs()[0]
    mean_half, max_half = change[:64].sum(), change[64:].sum()
    assert max_half > 2 * mean_half  # the average dilutes the blob; the maximum keeps it
    assert network(blob).shape == (1, 3)


def test_state_dict_round_trip_and_old_models_default_to_avg() -> None:
    network = _network()
    rebuilt = build_network(Architecture(**TINY.as_json()))
    rebuilt.load_state_dict(network.state_dict())
    x = torch.randn(2, 2, 32, 32, 16)
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), network(x))
    old = {k: v for k, v in TINY.as_json().items() if k != "pooling"}  # a payload saved before the setting
    assert Architecture(**old).pooling == "avg" and build_network(Architecture(**old)).fc.in_features == 64


def test_clip_encoders_keep_the_pooling() -> None:
    encoder, width, head = split_supervised(_network())
    assert width == head.in_features == 128
    assert encoder.eval()(torch.randn(1, 2, 32, 32, 16)).shape == (1, 128)
    scratch, scratch_width = resnet18_encoder(2, widen_factor=0.125, conv1_t_size=3, conv1_t_stride=2, pooling="avgmax")
    assert scratch_width == 128 and scratch.eval()(torch.randn(1, 2, 32, 32, 16)).shape == (1, 128)


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ('pooling = "median"', "training.pooling", "avg, avgmax"),
        ("clip_template_share = 1.5", "training.clip_template_share", "between 0 and 1"),
    ],
)
def test_bad_training_values_are_refused_naming_the_field(tmp_path: Path, line: str, field: str, message: str) -> None:
    (tmp_path / "radcurate.toml").write_text(f'preset = "demo"\n[training]\n{line}\n')
    with pytest.raises(InputError, match=message) as error:
        load_settings(tmp_path / "radcurate.toml")
    assert error.value.field == field


@pytest.mark.slow  # one ONNX export: ~5 s of CPU
def test_onnx_export_of_an_avgmax_model_matches_torch(tmp_path: Path) -> None:
    pytest.importorskip("onnxscript")
    from radcurate.engine.export.onnx_export import ModelInfo, export_supervised
    from radcurate.engine.triage.bundle import open_bundle
    from radcurate.engine.triage.scoring import Scorer
    from tests.engine.export.stand_in import RECIPE

    network = _network()
    manifest = export_supervised(
        network, tmp_path / "b", info=ModelInfo(id="am", kind="supervised"), findings=("a", "b", "c"), recipe=RECIPE
    )
    assert manifest["parity"]["logits_max_abs_diff"] <= 1e-4
    x = np.random.default_rng(0).uniform(-1, 1, size=(2, 2, 32, 32, 16)).astype(np.float32)
    with torch.no_grad():
        expected = torch.sigmoid(network(torch.from_numpy(x))).numpy()
    assert np.abs(Scorer(open_bundle(tmp_path / "b")).score(x) - expected).max() <= 1e-4
