"""CLIP losses on L2-normalised embeddings: symmetric InfoNCE, finding-level polarity, masked BCE.

* :func:`symmetric_info_nce`: CLIP's loss, image→text and text→image cross-entropy averaged.
  Identical texts in one batch ("No pleural effusion." in many reports) are all positives
  (``groups``), so the loss never pushes an image away from its own sentence's twin.
* :func:`polarity_loss`: for every labelled (study, finding), a two-way softmax over the image's
  similarity to a sentence stating the finding and one denying it, against the label. This is the
  zero-shot rule of :mod:`~radcurate.engine.training.zero_shot` trained directly; the sentence of
  the label's own polarity is the report's own sentence where the extractor quoted one, and the
  other side is a hard negative (a real sentence of the opposite polarity about the same finding).
* :func:`masked_bce`: the supervised auxiliary loss (uncertain labels masked, per-source weights).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def symmetric_info_nce(
    image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, groups: torch.Tensor | None = None
) -> torch.Tensor:
    """CLIP loss for ``B`` image–text pairs (row ``i`` of each belongs together).

    Parameters
    ----------
    image, text
        L2-normalised ``[B, D]``.
    scale
        ``exp(logit_scale)`` (a scalar tensor).
    groups
        Optional ``[B]`` ids: pairs with the same id (e.g. the same sentence text) count as
        positives of each other (the loss is ``−log`` of the softmax mass on all positives).
    """
    logits = scale * image @ text.t()
    if groups is None:
        target = torch.arange(len(image), device=image.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    same = groups[:, None] == groups[None, :]
    return 0.5 * (_multi_positive(logits, same) + _multi_positive(logits.t(), same.t()))


def _multi_positive(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``−log Σ_{j positive} softmax(row)_j``: 0 when a row's mass sits on its positives."""
    log_p = logits.log_softmax(1)
    return -torch.logsumexp(log_p.masked_fill(~positive, float("-inf")), 1).mean()


def polarity_logits(
    image: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """``scale · (cos(image, positive) − cos(image, negative))`` per finding: ``[B, K]``.

    ``image`` is ``[B, D]``; ``positive``/``negative`` are ``[B, K, D]`` or ``[K, D]`` (shared
    prompts). ``sigmoid`` of this is the softmax's probability of the positive side.
    """
    if positive.dim() == 2:
        return scale * image @ (positive - negative).t()
    return scale * torch.einsum("bd,bkd->bk", image, positive - negative)


def masked_bce(
    logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean BCE over the (study, finding) cells with ``mask == 1``, each weighted by ``weight``.

    Cells with ``mask == 0`` (uncertain, withheld, unlabelled) contribute nothing, whatever
    their label value (a −1 placeholder is never fed to the loss). ``0`` if no cell counts.
    """
    cell = mask.to(logits.dtype) * (1.0 if weight is None else weight.to(logits.dtype))
    target = labels.to(logits.dtype).clamp(0.0, 1.0) * (mask > 0)
    losses = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (losses * cell).sum() / cell.sum().clamp_min(1e-9)


def polarity_loss(
    image: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    labels: torch.Tensor,
    mask: torch.Tensor,
    scale: torch.Tensor,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Two-way softmax cross-entropy (positive vs negative sentence) against ``labels``, masked.

    Equal to :func:`masked_bce` on :func:`polarity_logits`, since a two-way softmax is a sigmoid
    of the logit difference.
    """
    return masked_bce(polarity_logits(image, positive, negative, scale), labels, mask, weight)
