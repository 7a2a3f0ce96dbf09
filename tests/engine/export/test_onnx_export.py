"""export-onnx: bundle layout, hashes, parity with torch (≤ 1e-4), atomic writes, supervised + int8 gate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxscript")
torch = pytest.importorskip("torch")

from radcurate.engine.errors import InputError  # noqa: E402
from radcurate.engine.export.onnx_bundle import sha256_file, write_bundle  # noqa: E402
from radcurate.engine.export.onnx_export import Evaluation, ModelInfo, export_supervised  # noqa: E402
from radcurate.engine.triage.bundle import open_bundle  # noqa: E402
from radcurate.engine.triage.scoring import Scorer  # noqa: E402
from tests.engine.export.stand_in import FINDINGS, RECIPE, TEMPLATES, clip_bundle  # noqa: E402


def test_bundle_is_a_monai_layout_with_every_file_hashed() -> None:
    folder, _ = clip_bundle()
    manifest = json.loads((folder / "manifest.json").read_text())
    for name in (
        "configs/metadata.json",
        "LICENSE",
        "docs/README.md",
        "models/image_encoder.onnx",
        "models/text_encoder.onnx",
    ):
        assert (folder / name).is_file(), name
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(manifest["files"]) == [n for n in on_disk if n != "manifest.json"]
    assert any(n.endswith(".onnx.data") for n in manifest["files"])  # the exporter's weight side files
    assert all(manifest["files"][n] == sha256_file(folder / n) for n in manifest["files"])
    assert manifest["vocabulary"] == list(FINDINGS) and manifest["opset"] >= 18
    assert manifest["model"]["id"] == "clip-test" and manifest["model"]["label_snapshot"] == "abc123"
    assert manifest["preprocessing"] == RECIPE.as_json()
    assert manifest["graphs"]["image"]["input_shape"] == ["batch", 2, 32, 32, 16]
    assert manifest["zero_shot"]["templates"] == [list(t) for t in TEMPLATES]
    parity = manifest["parity"]
    assert max(parity[k] for k in parity if k.endswith("max_abs_diff")) <= 1e-4
    metadata = json.loads((folder / "configs" / "metadata.json").read_text())
    image = metadata["network_data_format"]["inputs"]["image"]
    assert image["num_channels"] == 2 and image["spatial_shape"] == [32, 32, 16]
    assert not list(folder.parent.glob(".bundle.partial-*"))


def test_onnx_scores_match_torch_and_the_training_rule() -> None:
    """Image embeddings and zero-shot scores, torch (Learning's own rule) vs onnxruntime, batch 1 and 3."""
    from radcurate.engine.training.prompts import PromptTemplate
    from radcurate.engine.training.zero_shot import prompt_embeddings, zero_shot_probabilities

    folder, model = clip_bundle()
    bundle = open_bundle(folder)
    scorer = Scorer(bundle)
    templates = [PromptTemplate(*t) for t in TEMPLATES]
    with torch.no_grad():
        prompts = prompt_embeddings(
            lambda texts: model.project_text(model.text_encoder.embed(texts)), FINDINGS, templates
        )
    for batch in (1, 3):
        x = np.random.default_rng(batch).uniform(-1, 1, size=(batch, 2, 32, 32, 16)).astype(np.float32)
        with torch.no_grad():
            embedding = model.encode_image(torch.from_numpy(x))
            expected = zero_shot_probabilities(embedding, prompts, model.scale()).numpy()
        ort_embedding = bundle.session("image").run(None, {"image": x})[0]
        assert np.abs(ort_embedding - embedding.numpy()).max() <= 1e-4
        assert np.abs(scorer.score(x) - expected).max() <= 1e-4


def test_write_is_atomic_and_never_replaces_a_foreign_folder(tmp_path: Path) -> None:
    out = tmp_path / "bundle"

    def broken(folder: Path) -> dict:
        (folder / "models" / "image_encoder.onnx").write_bytes(b"half")
        raise RuntimeError("killed mid-export")

    with pytest.raises(RuntimeError):
        write_bundle(out, {"kind": "clip", "model": {"id": "m"}, "vocabulary": ["A"], "preprocessing": {}}, broken)
    assert list(tmp_path.iterdir()) == []  # no bundle, no partial folder
    (tmp_path / "photos").mkdir()
    with pytest.raises(InputError, match="not a radcurate bundle"):
        write_bundle(tmp_path / "photos", {}, broken)


@pytest.mark.slow  # a second export plus static int8 calibration: ~15 s of CPU
def test_supervised_bundle_and_int8_gate(tmp_path: Path) -> None:
    from monai.networks.nets import resnet18

    torch.manual_seed(0)
    network = resnet18(
        spatial_dims=3, n_input_channels=2, num_classes=3, widen_factor=0.25, conv1_t_size=3, conv1_t_stride=2
    ).eval()
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(12, 2, 32, 32, 16)).astype(np.float32)
    with torch.no_grad():
        logits = network(torch.from_numpy(images)).numpy()
    labels = (logits > np.median(logits, axis=0)).astype(np.int64)  # labels the fp32 model ranks perfectly
    evaluation = Evaluation(images=images, labels=labels, calibration=images[:4])
    info = ModelInfo(id="sup-test", kind="supervised")
    manifest = export_supervised(
        network, tmp_path / "b", info=info, findings=FINDINGS, recipe=RECIPE, int8=True, evaluation=evaluation
    )
    quant = manifest["int8"]
    assert quant["fp32_macro_auc"] == pytest.approx(1.0)
    assert quant["kept"] == (quant["fp32_macro_auc"] - quant["int8_macro_auc"] <= 0.005)
    graphs = sorted(p.name for p in (tmp_path / "b" / "models").glob("*.onnx"))
    assert graphs == (["classifier.int8.onnx"] if quant["kept"] else ["classifier.onnx"])
    bundle = open_bundle(tmp_path / "b")
    scores = Scorer(bundle).score(images[:2])
    assert scores.shape == (2, 3)
    if not quant["kept"]:
        assert np.abs(scores - 1 / (1 + np.exp(-logits[:2]))).max() <= 1e-4
    assert manifest["parity"]["logits_max_abs_diff"] <= 1e-4
    with pytest.raises(InputError, match="CLIP bundle"):
        Scorer(bundle, ["There is a pneumothorax."])
