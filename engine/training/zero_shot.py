"""Zero-shot finding scores from a CLIP model: softmax over similarity to a positive and a negative prompt.

For finding ``p`` and template ``t`` the score of an image is

    softmax(scale · [cos(image, positive_t(p)), cos(image, negative_t(p))])[0]
    = sigmoid(scale · (cos(image, positive) − cos(image, negative)))

Ensembles over templates (:data:`ENSEMBLES`): ``embedding`` averages the normalised prompt
embeddings of each side across templates and renormalises (CLIP's prompt ensembling), then applies
the rule once; ``probability`` averages the per-template scores; ``none`` keeps ``[T, B, K]`` so
callers can report the spread across templates.

The same rule applied to the embedding of the report text instead of the image gives the
*text-side ceiling* (:func:`text_ceiling`): how well the trained text space itself reads the
findings off the reports. An image can hardly score better through a text space that cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from radcurate.engine.errors import InputError
from radcurate.engine.training.prompts import PromptTemplate

ENSEMBLES = ("embedding", "probability", "none")
EmbedTexts = Callable[[Sequence[str]], torch.Tensor]  # texts → L2-normalised [N, D]


def prompt_embeddings(embed: EmbedTexts, findings: Sequence[str], templates: Sequence[PromptTemplate]) -> torch.Tensor:
    """``[T, K, 2, D]`` normalised embeddings: template × finding × (positive, negative)."""
    if not templates:
        raise InputError("zero-shot scoring needs at least one prompt template", field="templates")
    texts = [text for template in templates for finding in findings for text in template.pair(finding)]
    out = embed(texts)
    return out.reshape(len(templates), len(findings), 2, out.shape[-1])


def zero_shot_probabilities(
    embeddings: torch.Tensor, prompts: torch.Tensor, scale: torch.Tensor | float, ensemble: str = "embedding"
) -> torch.Tensor:
    """Scores in [0, 1] for ``embeddings`` ``[B, D]`` (images or texts) against ``prompts`` ``[T, K, 2, D]``.

    Returns ``[B, K]``, or ``[T, B, K]`` for ``ensemble="none"``.
    """
    if ensemble not in ENSEMBLES:
        raise InputError(f"unknown prompt ensemble {ensemble!r}; expected one of: {', '.join(ENSEMBLES)}")
    if ensemble == "embedding":
        prompts = F.normalize(prompts.mean(0, keepdim=True), dim=-1)
    difference = prompts[:, :, 0, :] - prompts[:, :, 1, :]  # [T, K, D]
    per_template = torch.sigmoid(scale * torch.einsum("bd,tkd->tbk", embeddings, difference))
    if ensemble == "none":
        return per_template
    return per_template.mean(0)


def text_ceiling(
    embed: EmbedTexts,
    reports: Sequence[str],
    prompts: torch.Tensor,
    scale: torch.Tensor | float,
    ensemble: str = "embedding",
) -> torch.Tensor:
    """The zero-shot rule applied to each report's own text embedding: ``[N, K]`` scores."""
    with torch.no_grad():
        return zero_shot_probabilities(embed(list(reports)), prompts, scale, ensemble)


def finding_aucs(scores: np.ndarray, truth: np.ndarray, findings: Sequence[str]) -> dict[str, float]:
    """ROC AUC per finding (scikit-learn); findings without both classes in ``truth`` are left out."""
    from sklearn.metrics import roc_auc_score

    out = {}
    for k, name in enumerate(findings):
        column = truth[:, k]
        if column.min() != column.max():
            out[name] = float(roc_auc_score(column, scores[:, k]))
    return out


def macro(aucs: dict[str, float]) -> float:
    """Mean of the per-finding AUCs (NaN when none could be computed)."""
    return float(np.mean(list(aucs.values()))) if aucs else float("nan")
