"""CLIP model, starts (scratch / init / locked), task loss and zero-shot scoring, on tiny shapes.

A tiny BERT written with the packaged MiniLM tokenizer stands in for the text encoder (the "any
local Hugging Face model directory" path), so a training step takes milliseconds; one test loads
the real packaged all-MiniLM-L6-v2 offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")
pytest.importorskip("transformers")

from radcurate.engine.errors import InputError  # noqa: E402
from radcurate.engine.training.clip_model import ClipModel, resnet18_encoder  # noqa: E402
from radcurate.engine.training.clip_task import ClipObjective, ClipTask  # noqa: E402
from radcurate.engine.training.polarity_sentences import PolarityBank  # noqa: E402
from radcurate.engine.training.prompts import DEFAULT_TEMPLATES  # noqa: E402
from radcurate.engine.training.text_encoder import TextEncoder, default_model_dir, resolve_model_dir  # noqa: E402
from radcurate.engine.training.zero_shot import zero_shot_probabilities  # noqa: E402

FINDINGS = ("Cardiomegaly", "Pleural effusion", "Emphysema")
TINY = {"widen_factor": 0.125, "conv1_t_size": 3, "conv1_t_stride": 2}  # 64 features


@pytest.fixture(scope="module")
def tiny_text_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with the packaged MiniLM tokenizer, saved as a local HF directory."""
    from transformers import BertConfig, BertModel

    out = tmp_path_factory.mktemp("tiny_bert")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(default_model_dir() / name, out / name)
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(out)
    return out


def _supervised() -> torch.nn.Module:
    from monai.networks.nets import resnet18

    torch.manual_seed(1)
    return resnet18(spatial_dims=3, n_input_channels=1, num_classes=len(FINDINGS), **TINY)


def _task(text_dir: Path, start: str, objective: ClipObjective = ClipObjective()) -> ClipTask:
    torch.manual_seed(2)
    encoder, width = resnet18_encoder(1, **TINY)
    text = TextEncoder(text_dir)
    model = ClipModel(encoder, width, text, len(FINDINGS), embed_dim=16)
    model.start_from(None if start == "scratch" else _supervised(), start)
    batch = _batch()
    bank = PolarityBank(FINDINGS).add_rows(batch["labels"].numpy(), batch["mask"].numpy(), batch["evidence"])
    return ClipTask(model, FINDINGS, bank=bank, objective=objective)


def _batch() -> dict:
    reports = [
        "Findings: The heart is enlarged. No pleural effusion.",
        "Findings: Bilateral pleural effusion. No emphysema.",
        "Findings: Centrilobular emphysema. Heart size is normal.",
        "Findings: Normal study.",
    ]
    evidence = [
        ["The heart is enlarged.", "No pleural effusion.", None],
        [None, "Bilateral pleural effusion.", "No emphysema."],
        ["Heart size is normal.", None, "Centrilobular emphysema."],
        [None, None, None],
    ]
    labels = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=torch.float32)
    mask = torch.ones(4, 3)
    mask[3, 1] = 0  # an uncertain cell
    image = torch.randn(4, 1, 16, 16, 8, generator=torch.Generator().manual_seed(3))
    return {
        "image": image,
        "labels": labels,
        "mask": mask,
        "weight": torch.ones(4, 3),
        "study_id": ["a", "b", "c", "d"],
        "report": reports,
        "evidence": evidence,
    }


def _step(task: ClipTask) -> None:
    optimiser = torch.optim.AdamW(task.parameters(), lr=1e-2)
    task.model.train()
    loss = task.loss(_batch())
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()


def test_packaged_minilm_loads_offline(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    encoder = TextEncoder()
    assert encoder.width == 384 and encoder.frozen
    out = torch.nn.functional.normalize(encoder.embed(["There is pleural effusion.", "There is no pleural effusion."]))
    # the cap this package works around: MiniLM finds the two polarities very alike
    assert 0.6 < float(out[0] @ out[1]) < 0.95
    assert not any(p.requires_grad for p in encoder.parameters())


def test_a_folder_without_a_model_is_refused(tmp_path: Path):
    with pytest.raises(InputError, match="Hugging Face"):
        resolve_model_dir(tmp_path)


def test_embeddings_are_unit_length(tiny_text_dir: Path):
    task = _task(tiny_text_dir, "scratch")
    model = task.model.eval()
    image = model.encode_image(_batch()["image"])
    tokens = model.text_encoder.tokenize(["No pleural effusion.", "Cardiomegaly."])
    text = model.encode_text(tokens["input_ids"], tokens["attention_mask"])
    assert image.shape == (4, 16) and text.shape == (2, 16)
    assert torch.allclose(image.norm(dim=-1), torch.ones(4), atol=1e-5)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert model.image_projection.bias is None and model.text_projection.bias is None
    assert model.scale().item() == pytest.approx(1 / 0.07, rel=1e-4)


def test_locked_start_leaves_the_image_encoder_unchanged_after_a_step(tiny_text_dir: Path):
    task = _task(tiny_text_dir, "locked")
    model = task.model
    supervised = _supervised().state_dict()
    encoder_before = {k: v.clone() for k, v in model.image_encoder.state_dict().items()}
    assert all(torch.equal(v, supervised[k]) for k, v in encoder_before.items())  # it is the supervised encoder
    projection_before = model.image_projection.weight.clone()
    _step(task)
    after = model.image_encoder.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in encoder_before.items())  # weights and BN statistics
    assert not torch.equal(projection_before, model.image_projection.weight)
    assert model.trainable_summary()["image_encoder"]["trainable"] == 0


def test_init_start_fine_tunes_the_supervised_encoder(tiny_text_dir: Path):
    task = _task(tiny_text_dir, "init")
    model = task.model
    supervised = _supervised()
    assert torch.equal(model.finding_head.weight, supervised.fc.weight)  # aux head starts as the classifier
    conv_before = model.image_encoder.conv1.weight.clone()
    assert torch.equal(conv_before, supervised.conv1.weight)
    _step(task)
    assert not torch.equal(conv_before, model.image_encoder.conv1.weight)
    assert torch.equal(supervised.conv1.weight, _supervised().conv1.weight)  # the supervised model is untouched


def test_a_locked_start_needs_a_supervised_model(tiny_text_dir: Path):
    encoder, width = resnet18_encoder(1, **TINY)
    model = ClipModel(encoder, width, TextEncoder(tiny_text_dir), len(FINDINGS))
    with pytest.raises(InputError, match="--init"):
        model.start_from(None, "locked")
    with pytest.raises(InputError, match="start"):
        model.start_from(None, "frozen")


@pytest.mark.parametrize(
    "objective",
    [ClipObjective(), ClipObjective(sentence=1.0), ClipObjective(report=0.0)],
    ids=["default:report+polarity+bce", "sentence+hard-negatives+report+polarity+bce", "polarity+bce"],
)
def test_task_loss_falls_on_a_tiny_batch(tiny_text_dir: Path, objective: ClipObjective):
    task = _task(tiny_text_dir, "scratch", objective)
    optimiser = torch.optim.AdamW(task.parameters(), lr=3e-3)
    task.model.train()
    losses = []
    torch.manual_seed(4)
    for _ in range(15):
        loss = task.loss(_batch())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_zero_shot_scores_are_probabilities(tiny_text_dir: Path):
    task = _task(tiny_text_dir, "scratch")
    task.model.eval()
    scores = task.predict(_batch())
    assert scores.shape == (4, len(FINDINGS))
    assert bool(((scores > 0) & (scores < 1)).all())
    assert task.prompts().shape == (len(DEFAULT_TEMPLATES), len(FINDINGS), 2, 16)
    assert task.supervised_scores(_batch()).shape == (4, len(FINDINGS))


def test_zero_shot_rule_and_ensembles():
    # two findings, two templates, 2-d embeddings: image 0 points at finding 0's positive prompt
    prompts = torch.tensor(
        [
            [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]],
            [[[0.8, 0.6], [0.6, 0.8]], [[0.6, 0.8], [0.8, 0.6]]],
        ]
    )
    image = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    per_template = zero_shot_probabilities(image, prompts, 10.0, "none")
    assert per_template.shape == (2, 2, 2)
    assert per_template[0, 0, 0].item() == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item())  # softmax of 2
    assert per_template[1, 0, 0].item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item(), abs=1e-6)
    mean = zero_shot_probabilities(image, prompts, 10.0, "probability")
    assert torch.allclose(mean, per_template.mean(0))
    ensemble = zero_shot_probabilities(image, prompts, 10.0, "embedding")
    assert ensemble[0, 0] > 0.5 > ensemble[0, 1] and ensemble[1, 1] > 0.5 > ensemble[1, 0]
    with pytest.raises(InputError, match="ensemble"):
        zero_shot_probabilities(image, prompts, 10.0, "vote")
