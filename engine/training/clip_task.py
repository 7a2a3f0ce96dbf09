"""CLIP as a training *task* the generic loop drives: ``task.model``, ``task.loss(batch)``, ``task.predict(batch)``.

The interface between the loop (dataset, optimiser, checkpoints, DDP: ``loop.py``) and a kind of
model. A batch is a dict; what CLIP reads from it:

=================  ====================================  ==============================================
key                value                                 meaning
=================  ====================================  ==============================================
``image``          float tensor ``[B, C, X, Y, Z]``      preprocessed volumes (LPS; one channel per HU window)
``labels``         float tensor ``[B, K]``               1 present, 0 absent/not mentioned (vocabulary order)
``mask``           float tensor ``[B, K]``               1 where the label counts (0: uncertain, withheld)
``weight``         float tensor ``[B, K]``               per-source loss weight (gold > silver)
``study_id``       list of ``B`` str                     store ids
``report``         list of ``B`` str                     the report text the labels were made from
``evidence``       optional ``[B][K]`` str or ``None``   the report's sentence stating cell (i, k)'s label
                                                         (the silver label's evidence quote when its
                                                         state agrees with the label used, else None)
=================  ====================================  ==============================================

The loop must build the optimiser from ``task.parameters()`` (only what trains: a locked start
has no image-encoder parameters there), call ``task.model.train()`` / ``.eval()``, and checkpoint
``task.model.state_dict()``. Random choices in :meth:`ClipTask.loss` (which sentence, which hard
negative) take their seed from torch's global generator, so restoring the loop's torch RNG state
on resume reproduces them. Under DDP the loop sets ``task.network =
DistributedDataParallel(task.model, find_unused_parameters=True)`` (an objective may leave the
finding head or a projection out); :meth:`ClipTask.loss` makes exactly one ``task.network(...)``
call per batch, so gradients are all-reduced as usual. ``predict`` uses ``task.model`` directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from radcurate.engine.training.clip_loss import masked_bce, polarity_loss, symmetric_info_nce
from radcurate.engine.training.clip_model import ClipModel
from radcurate.engine.training.polarity_sentences import PolarityBank
from radcurate.engine.training.prompts import DEFAULT_TEMPLATES, PromptTemplate, report_sentences
from radcurate.engine.training.text_encoder import FrozenTextCache
from radcurate.engine.training.zero_shot import prompt_embeddings, zero_shot_probabilities


@dataclass(frozen=True)
class ClipObjective:
    """Which losses a CLIP run sums, and with what weight (0 turns one off).

    Defaults from the phantom ablations (256 training cases, zero-shot macro AUC over 18 findings
    and image→report recall@5 on a separate 128-case cohort). First, locked start on the early
    encoder: report-level InfoNCE alone 0.643; polarity pairs 0.672; sentence pairs with hard
    negatives 0.668; adding the report-level term to either lowered zero-shot by 0.02–0.04, so it
    is off there. Then, init start from the encoder trained with the bounded crop: polarity pairs
    with sentence pairs (both weight 1) 0.728 zero-shot / R@5 0.14; polarity 3 with sentences 1
    0.771 / 0.26; polarity alone 0.811 / 0.34; polarity with the report-level term at 0.2
    **0.817 / 0.47** (auxiliary head 0.817, text-side ceiling 0.828). A random report sentence pulls
    the image towards whatever that one sentence says, which blurs the eighteen finding directions
    the zero-shot rule reads, so the sentence term is off (weight > 0 turns it back on, with its
    hard negatives); a light report-level symmetric InfoNCE keeps the space a retrieval space.
    """

    report: float = 0.2  # report-level symmetric InfoNCE (image ↔ whole report): the plain method
    sentence: float = 0.0  # sentence-level InfoNCE (image ↔ one random sentence of its report)
    polarity: float = 1.0  # finding-level stating/denying pairs (the zero-shot rule, trained)
    bce: float = 0.5  # auxiliary supervised BCE on the finding head
    hard_negatives: bool = True  # sentence loss: add the opposite-polarity sentence as a negative
    templates: tuple[PromptTemplate, ...] = field(default=DEFAULT_TEMPLATES)  # zero-shot prompts
    ensemble: str = "embedding"


class ClipTask:
    """A :class:`ClipModel` with its losses, text cache and zero-shot prompts."""

    kind = "clip"

    def __init__(
        self,
        model: ClipModel,
        findings: Sequence[str],
        *,
        bank: PolarityBank | None = None,
        objective: ClipObjective = ClipObjective(),
    ):
        self.model = model
        self.findings = tuple(findings)
        self.objective = objective
        self.bank = bank if bank is not None else PolarityBank(self.findings)
        self.network: torch.nn.Module = model  # the loop may set a DistributedDataParallel(model) here
        self.cache = FrozenTextCache(model.text_encoder) if model.text_encoder.frozen else None
        if self.cache is not None:
            self.cache.add(self.bank.texts())

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """The parameters that train (what the optimiser gets)."""
        return (p for p in self.model.parameters() if p.requires_grad)

    # ----------------------------------------------------------------- text
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised ``[N, D]`` embeddings; frozen text encoders go through the cache."""
        if self.cache is not None:
            return self.model.project_text(self.cache.lookup(list(texts)))
        tokens = self.model.text_encoder.tokenize(list(texts))
        return self.model.encode_text(tokens["input_ids"], tokens["attention_mask"])

    def prompts(self) -> torch.Tensor:
        """``[T, K, 2, D]`` prompt embeddings under the current weights."""
        return prompt_embeddings(self.embed_texts, self.findings, self.objective.templates)

    # ----------------------------------------------------------------- training
    def loss(self, batch: dict[str, Any]) -> torch.Tensor:
        """The weighted sum of the objective's losses for one batch (a scalar tensor).

        All texts the batch needs (reports, sampled sentences and hard negatives, polarity pairs)
        are gathered first and go through ``self.network`` in one call with the images, so a DDP
        wrapper set as ``task.network`` sees every parameter used.
        """
        goal = self.objective
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,)).item()))
        labels, mask = batch["labels"].float(), batch["mask"].float()
        weight = batch.get("weight")
        parts: dict[str, list[str]] = {}
        if goal.report:
            parts["report"] = list(batch["report"])
        if goal.sentence:
            parts["sentence"], parts["hard"], hard_rows = self._sentences(batch, rng)
        if goal.polarity:
            parts["stating"], parts["denying"] = self.bank.pairs(
                labels.numpy(), mask.numpy(), batch.get("evidence"), rng
            )
        texts = [t for part in parts.values() for t in part]
        image, text, head, scale = self.network(batch["image"], *self._text_inputs(texts))
        split: dict[str, torch.Tensor] = {}
        start = 0
        for name, part in parts.items():
            assert text is not None
            split[name] = text[start : start + len(part)]
            start += len(part)
        total = torch.zeros((), dtype=image.dtype)
        if goal.report:
            total = total + goal.report * symmetric_info_nce(image, split["report"], scale, _groups(parts["report"]))
        if goal.sentence:
            loss = _sentence_loss(image, split["sentence"], split["hard"], hard_rows, scale, _groups(parts["sentence"]))
            total = total + goal.sentence * loss
        if goal.polarity:
            shape = (*labels.shape, image.shape[-1])
            positive, negative = split["stating"].reshape(shape), split["denying"].reshape(shape)
            total = total + goal.polarity * polarity_loss(image, positive, negative, labels, mask, scale, weight)
        if goal.bce:
            total = total + goal.bce * masked_bce(head, labels, mask, weight)
        return total

    def _text_inputs(self, texts: list[str]) -> tuple[torch.Tensor | None, ...]:
        """``(pooled, None, None)`` from the frozen cache, or ``(None, input_ids, attention_mask)``."""
        if not texts:
            return (None, None, None)
        if self.cache is not None:
            return (self.cache.lookup(texts), None, None)
        tokens = self.model.text_encoder.tokenize(texts)
        return (None, tokens["input_ids"], tokens["attention_mask"])

    def _sentences(self, batch: dict[str, Any], rng: np.random.Generator) -> tuple[list[str], list[str], list[int]]:
        """One random sentence per report, and hard negatives: (sentences, negatives, rows that have one).

        A hard negative is a sentence of the opposite polarity about the same finding, when the
        drawn sentence is one the extractor quoted for a labelled finding.
        """
        evidence, labels, mask = batch.get("evidence"), batch["labels"], batch["mask"]
        chosen: list[str] = []
        negatives: list[str] = []
        rows: list[int] = []
        for i, report in enumerate(batch["report"]):
            sentences = report_sentences(report) or [report]
            sentence = sentences[int(rng.integers(len(sentences)))]
            chosen.append(sentence)
            quoted = [k for k, s in enumerate(evidence[i]) if s == sentence and mask[i, k] > 0] if evidence else []
            if self.objective.hard_negatives and quoted:
                negatives.append(self.bank.opposite(quoted[0], int(labels[i, quoted[0]] > 0.5), rng))
                rows.append(i)
        return chosen, negatives, rows

    # ----------------------------------------------------------------- inference
    @torch.no_grad()
    def predict(self, batch: dict[str, Any]) -> torch.Tensor:
        """Zero-shot scores ``[B, K]`` in [0, 1] (the objective's templates and ensemble)."""
        image = self.model.encode_image(batch["image"])
        return zero_shot_probabilities(image, self.prompts(), self.model.scale(), self.objective.ensemble)

    @torch.no_grad()
    def supervised_scores(self, batch: dict[str, Any]) -> torch.Tensor:
        """The auxiliary head's sigmoid scores ``[B, K]`` (reported beside zero-shot)."""
        return torch.sigmoid(self.model.finding_head(self.model.image_features(batch["image"])))


def _sentence_loss(
    image: torch.Tensor,
    sentence: torch.Tensor,
    hard: torch.Tensor,
    hard_rows: list[int],
    scale: torch.Tensor,
    groups: torch.Tensor,
) -> torch.Tensor:
    """Symmetric InfoNCE image ↔ sentence, averaged with an image → (sentences + hard negatives) term.

    Each hard negative is a negative for every image (its row's image above all), never a positive.
    """
    loss = symmetric_info_nce(image, sentence, scale, groups)
    if not hard_rows:
        return loss
    logits = scale * image @ torch.cat([sentence, hard]).t()  # [B, B + H]
    positive = groups[:, None] == groups[None, :]
    positive = torch.cat([positive, torch.zeros(len(image), len(hard), dtype=torch.bool)], 1)
    log_p = logits.log_softmax(1).masked_fill(~positive, float("-inf"))
    return 0.5 * (loss - torch.logsumexp(log_p, 1).mean())


def _groups(texts: Sequence[str]) -> torch.Tensor:
    """Ids that are equal exactly where the texts are (identical sentences are positives of each other)."""
    ids: dict[str, int] = {}
    return torch.tensor([ids.setdefault(t, len(ids)) for t in texts])
