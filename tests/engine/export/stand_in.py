"""A small real CLIP model and its exported bundle, shared by the export and triage tests.

The Learning code's own :class:`ClipModel` with a MONAI resnet18 image tower (demo preset
options, 2 HU windows) and a 1-layer BERT text tower that uses all-MiniLM-L6-v2's real tokenizer
files: real torch modules, tiny shapes, so exporting takes seconds. Built once per test session.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine.settings import TWO_WINDOWS, PreprocessingSettings
from radcurate.engine.volumes.numpy_preprocessing import recipe_from_settings

FINDINGS = ("Cardiomegaly", "Pleural effusion", "Lung nodule")
TEMPLATES = (
    ("There is {finding}.", "There is no {finding}."),
    ("{Finding} is present.", "No {finding}."),
    ("Findings consistent with {finding}.", "No evidence of {finding}."),
)
SETTINGS = PreprocessingSettings(spacing=(5.0, 5.0, 8.0), windows=TWO_WINDOWS, shape=(32, 32, 16))
RECIPE = recipe_from_settings(SETTINGS)  # two HU windows, tiny shape
_CACHE: dict[str, Any] = {}


def tiny_text_model(folder: Path) -> Path:
    """A 1-layer, 32-wide BERT saved as a Hugging Face model dir, with MiniLM's tokenizer files."""
    import torch
    from transformers import BertConfig, BertModel

    from radcurate.engine.training.text_encoder import default_model_dir

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copyfile(default_model_dir() / name, folder / name)
    return folder


def stand_in_clip(root: Path) -> Any:
    import torch

    from radcurate.engine.training.clip_model import ClipModel, resnet18_encoder
    from radcurate.engine.training.text_encoder import TextEncoder

    torch.manual_seed(0)
    encoder, width = resnet18_encoder(RECIPE.channels, widen_factor=0.5, conv1_t_size=3, conv1_t_stride=2)
    text = TextEncoder(tiny_text_model(root / "text-model"))
    model = ClipModel(encoder, width, text, len(FINDINGS), embed_dim=16).eval()
    with torch.no_grad():  # a non-trivial temperature so scores are spread, not all 0.5
        model.logit_scale.fill_(np.log(30.0))
    return model


def clip_bundle() -> tuple[Path, Any]:
    """(bundle folder, torch model), exported once per session."""
    if "bundle" not in _CACHE:
        from radcurate.engine.export.onnx_export import ModelInfo, export_clip

        root = Path(tempfile.mkdtemp(prefix="radcurate-test-bundle-"))
        atexit.register(shutil.rmtree, root, True)
        model = stand_in_clip(root)
        out = root / "bundle"
        export_clip(
            model,
            out,
            info=ModelInfo(id="clip-test", kind="clip", label_snapshot="abc123", metrics={"zero_shot_macro_auc": 0.5}),
            findings=FINDINGS,
            templates=TEMPLATES,
            recipe=RECIPE,
            text_model_dir=model.text_encoder.model_dir,
        )
        _CACHE["bundle"] = (out, model)
    return _CACHE["bundle"]
