"""The supervised model: MONAI's 3D ResNet-18 with one logit per finding and a masked, weighted BCE.

``resnet18(spatial_dims=3, n_input_channels=C, num_classes=K)`` with ``C`` = the HU windows of
``[preprocessing]`` and ``K`` = the vocabulary; width and first convolution from ``[training]``
(paper: MONAI's defaults for GPUs; demo: ``widen_factor=0.5, conv1_t_size=3, conv1_t_stride=2``,
about 30 ms per 64×64×32 sample on 2 CPU cores). The loss is
:func:`~radcurate.engine.training.clip_loss.masked_bce`: masked cells (uncertain, unresolved,
withheld) never reach it, and each cell counts with its source's weight (gold > silver).

:class:`SupervisedTask` is the task interface of the generic loop (``model``, ``parameters()``,
``loss(batch)``, ``predict(batch)``), the same one the CLIP task implements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from radcurate.engine.settings import TrainingSettings
from radcurate.engine.training.clip_loss import masked_bce


@dataclass(frozen=True)
class Architecture:
    """What it takes to rebuild the network from a saved state dict (stored with every model)."""

    channels: int
    findings: int
    widen_factor: float = 1.0
    conv1_t_size: int = 7
    conv1_t_stride: int = 1
    pooling: str = "avg"  # models saved before the setting existed are 'avg'

    @classmethod
    def of(cls, channels: int, findings: int, settings: TrainingSettings) -> Architecture:
        return cls(
            channels,
            findings,
            settings.widen_factor,
            settings.conv1_t_size,
            settings.conv1_t_stride,
            settings.pooling,
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def features(self) -> int:
        """Width of the pooled features feeding ``fc`` (MONAI: ``512 × widen_factor``; twice that for avgmax)."""
        return int(512 * self.widen_factor) * (2 if self.pooling == "avgmax" else 1)


class GlobalAvgMaxPool(nn.Module):
    """Global average and maximum pooling, concatenated: ``[B, F, X, Y, Z]`` → ``[B, 2F, 1, 1, 1]``.

    The last ResNet stage sees the input 16–32 times coarser (the demo's 64×64×32 as a 2×2×1 grid,
    the paper's 192×192×96 as 12×12×6); a finding that lights one cell (a nodule, an enlarged node, calcified
    plaques) is a fraction of the average but all of the maximum: present anywhere means present
    (multiple-instance pooling). Written with plain
    reductions so the ONNX graph is ReduceMean + ReduceMax.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3, 4), keepdim=True), x.amax(dim=(2, 3, 4), keepdim=True)], dim=1)


def set_pooling(network: nn.Module, pooling: str) -> nn.Module:
    """Put ``pooling``'s module in a MONAI ResNet's ``avgpool`` slot (its forward flattens whatever it returns)."""
    if pooling == "avgmax":
        setattr(network, "avgpool", GlobalAvgMaxPool())  # noqa: B010
    elif pooling != "avg":
        raise ValueError(f"unknown pooling {pooling!r}")
    return network


def build_network(arch: Architecture) -> nn.Module:
    """A fresh MONAI 3D ResNet-18 for ``arch``."""
    from monai.networks.nets import resnet18

    network = resnet18(
        spatial_dims=3,
        n_input_channels=arch.channels,
        num_classes=arch.findings,
        widen_factor=arch.widen_factor,
        conv1_t_size=arch.conv1_t_size,
        conv1_t_stride=arch.conv1_t_stride,
    )
    set_pooling(network, arch.pooling)
    if arch.pooling != "avg":
        setattr(network, "fc", nn.Linear(arch.features, arch.findings))  # noqa: B010
    return network


def pooled_features(network: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """The pooled features ``[B, F]`` the classifier sees (the embedding the few-shot probe uses)."""
    fc = network.fc
    setattr(network, "fc", None)  # noqa: B010  (MONAI ResNet.forward returns the pooled features when fc is None)
    try:
        return network(image)
    finally:
        setattr(network, "fc", fc)  # noqa: B010


class SupervisedTask:
    """The supervised ResNet as a task of the generic training loop."""

    kind = "supervised"

    def __init__(self, network: nn.Module, findings: tuple[str, ...]):
        self.model = network
        self.findings = findings

    def parameters(self) -> Iterator[nn.Parameter]:
        return (p for p in self.model.parameters() if p.requires_grad)

    def loss(self, batch: dict[str, Any]) -> torch.Tensor:
        logits = self.model(batch["image"])
        return masked_bce(logits, batch["labels"], batch["mask"], batch.get("weight"))

    @torch.no_grad()
    def predict(self, batch: dict[str, Any]) -> torch.Tensor:
        """Per-finding probabilities ``[B, K]``."""
        return torch.sigmoid(self.model(batch["image"]))

    @torch.no_grad()
    def embed(self, batch: dict[str, Any]) -> torch.Tensor:
        return pooled_features(self.model, batch["image"])
