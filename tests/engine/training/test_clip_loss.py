"""CLIP losses: symmetric InfoNCE, the polarity pair loss and masked BCE, on tiny tensors."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional as F  # noqa: E402

from radcurate.engine.training.clip_loss import (  # noqa: E402
    masked_bce,
    polarity_logits,
    polarity_loss,
    symmetric_info_nce,
)


def _unit(*shape: int, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_info_nce_is_symmetric_and_matches_clip():
    image, text = _unit(6, 8, seed=1), _unit(6, 8, seed=2)
    scale = torch.tensor(10.0)
    loss = symmetric_info_nce(image, text, scale)
    assert loss.item() == pytest.approx(symmetric_info_nce(text, image, scale).item(), abs=1e-6)
    logits = 10.0 * image @ text.t()
    target = torch.arange(6)
    by_hand = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
    assert loss.item() == pytest.approx(by_hand.item(), abs=1e-6)
    # perfectly aligned pairs at a high scale cost almost nothing; random ones about log(B)
    assert symmetric_info_nce(image, image, torch.tensor(100.0)).item() < 0.05
    assert symmetric_info_nce(image, text, torch.tensor(1.0)).item() == pytest.approx(math.log(6), abs=0.3)


def test_identical_texts_are_positives_of_each_other():
    image = _unit(4, 8, seed=3)
    image = torch.stack([image[0], image[0], image[2], image[3]])  # studies 0 and 1 look alike...
    text = image.clone()  # ...and their reports say the same sentence
    groups = torch.tensor([0, 0, 1, 2])
    scale = torch.tensor(50.0)
    assert symmetric_info_nce(image, text, scale, groups).item() < 1e-3
    assert symmetric_info_nce(image, text, scale).item() == pytest.approx(math.log(2) / 2, abs=1e-3)


def test_info_nce_falls_on_a_tiny_batch():
    image = _unit(8, 16, seed=4).requires_grad_(True)
    text = _unit(8, 16, seed=5).requires_grad_(True)
    log_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    optimiser = torch.optim.Adam([image, text, log_scale], lr=0.05)
    losses = []
    for _ in range(40):
        loss = symmetric_info_nce(F.normalize(image, dim=-1), F.normalize(text, dim=-1), log_scale.exp())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_polarity_loss_is_the_two_way_softmax_of_the_zero_shot_rule():
    image, positive, negative = _unit(3, 8, seed=6), _unit(3, 2, 8, seed=7), _unit(3, 2, 8, seed=8)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mask = torch.ones(3, 2)
    scale = torch.tensor(20.0)
    pos = scale * torch.einsum("bd,bkd->bk", image, positive)
    neg = scale * torch.einsum("bd,bkd->bk", image, negative)
    softmax = torch.stack([pos, neg], -1).log_softmax(-1)
    by_hand = -torch.where(labels > 0, softmax[..., 0], softmax[..., 1]).mean()
    assert polarity_loss(image, positive, negative, labels, mask, scale).item() == pytest.approx(
        by_hand.item(), abs=1e-5
    )
    shared = polarity_logits(image, positive[0], negative[0], scale)  # [K, D] prompts broadcast over the batch
    assert shared.shape == (3, 2)


def test_masked_bce_ignores_masked_cells_whatever_their_value():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    labels = torch.tensor([[1.0, -1.0, 0.0]])  # the seed's −1 placeholder in a masked cell
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    expected = F.binary_cross_entropy_with_logits(logits[0, [0, 2]], labels[0, [0, 2]])
    assert masked_bce(logits, labels, mask).item() == pytest.approx(expected.item(), abs=1e-6)
    heavy = masked_bce(logits, labels, mask, torch.tensor([[3.0, 1.0, 1.0]]))
    cells = F.binary_cross_entropy_with_logits(logits[0, [0, 2]], labels[0, [0, 2]], reduction="none")
    assert heavy.item() == pytest.approx(((3 * cells[0] + cells[1]) / 4).item(), abs=1e-6)
    assert masked_bce(logits, labels, torch.zeros(1, 3)).item() == 0.0
