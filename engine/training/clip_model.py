"""The CLIP network: a 3D image encoder and a text encoder meeting in one L2-normalised space.

Image side: the supervised model's MONAI ``ResNet`` with its classifier removed (pooled features
``[B, F]``), then a bias-free linear projection to ``embed_dim``. Text side: a
:class:`~radcurate.engine.training.text_encoder.TextEncoder` (mean-pooled MiniLM, ``[B, 384]``),
then a bias-free projection. Bias-free so that a zero feature maps to the origin and similarity is
pure direction, as in CLIP. ``logit_scale`` is the learnable log inverse temperature (CLIP's init
``log(1/0.07)``, clamped to ``log(100)``). ``finding_head`` is a linear classifier on the image
features for the auxiliary supervised BCE (initialised from the supervised model's ``fc`` when the
run starts from one, so its scores are the supervised scores on the first step).

What the ONNX export relies on: :meth:`ClipModel.encode_image` ``(x [B, C, X, Y, Z]) ->
[B, D]`` and :meth:`ClipModel.encode_text` ``(input_ids, attention_mask) -> [B, D]``, both
L2-normalised, and the ``logit_scale`` parameter.

Three starts (:data:`STARTS`): ``scratch`` (random image encoder), ``init`` (the supervised
encoder, fine-tuned) and ``locked`` (the supervised encoder frozen, batch-norm statistics
included: only the projections, the finding head and any trainable text layers learn, as LiT does).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from radcurate.engine.errors import InputError
from radcurate.engine.training.text_encoder import TextEncoder

STARTS = ("scratch", "init", "locked")
MAX_LOGIT_SCALE = math.log(100.0)


def resnet18_encoder(
    channels: int,
    *,
    widen_factor: float = 1.0,
    conv1_t_size: int = 7,
    conv1_t_stride: int = 1,
    pooling: str = "avg",
) -> tuple[nn.Module, int]:
    """A MONAI ``resnet18`` (3D) without its classifier, and its feature width (``512 × widen``, ×2 for avgmax)."""
    from monai.networks.nets import resnet18

    from radcurate.engine.training.supervised import set_pooling

    net = resnet18(
        spatial_dims=3,
        n_input_channels=channels,
        widen_factor=widen_factor,
        conv1_t_size=conv1_t_size,
        conv1_t_stride=conv1_t_stride,
        feed_forward=False,
    )
    set_pooling(net, pooling)
    return net, int(512 * widen_factor) * (2 if pooling == "avgmax" else 1)


def split_supervised(network: nn.Module) -> tuple[nn.Module, int, nn.Linear]:
    """(encoder, feature width, classifier) of a supervised MONAI ``ResNet``, copied.

    The copy's ``fc`` is removed so it returns pooled features; the supervised model is untouched.
    """
    head = getattr(network, "fc", None)
    if not isinstance(head, nn.Linear):
        raise InputError(
            f"a CLIP start needs a supervised ResNet with a linear 'fc' classifier, got {type(network).__name__}",
            field="init",
        )
    encoder = copy.deepcopy(network)
    setattr(encoder, "fc", None)  # noqa: B010  (MONAI ResNet.forward skips a None fc: pooled features)
    return encoder, int(head.in_features), copy.deepcopy(head)


class ClipModel(nn.Module):
    """Image encoder + text encoder + bias-free projections + ``logit_scale`` + auxiliary finding head.

    Parameters
    ----------
    image_encoder
        Maps ``[B, C, X, Y, Z]`` (preprocessed, LPS) to pooled features ``[B, image_width]``.
    image_width
        Width of those features.
    text_encoder
        The pooled text encoder; ``text_encoder.width`` is the text feature width.
    findings
        Number of findings (the auxiliary head's outputs, vocabulary order).
    embed_dim
        Width of the shared embedding space.
    temperature
        Initial softmax temperature (``logit_scale = log(1 / temperature)``).
    """

    def __init__(
        self,
        image_encoder: nn.Module,
        image_width: int,
        text_encoder: TextEncoder,
        findings: int,
        *,
        embed_dim: int = 128,
        temperature: float = 0.07,
    ):
        super().__init__()
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder
        self.image_projection = nn.Linear(image_width, embed_dim, bias=False)
        self.text_projection = nn.Linear(text_encoder.width, embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))
        self.finding_head = nn.Linear(image_width, findings)
        self.start = "scratch"

    # ----------------------------------------------------------------- starts
    def start_from(self, supervised: nn.Module | None, start: str) -> ClipModel:
        """Load the supervised encoder (``init``, ``locked``) and freeze it (``locked``); returns self."""
        if start not in STARTS:
            raise InputError(f"unknown CLIP start {start!r}; expected one of: {', '.join(STARTS)}", field="start")
        if start != "scratch":
            if supervised is None:
                raise InputError(f"the {start!r} start needs a supervised model (--init MODEL)", field="init")
            encoder, width, head = split_supervised(supervised)
            if width != self.image_projection.in_features or head.out_features != self.finding_head.out_features:
                raise InputError(
                    f"the supervised model has {width} features and {head.out_features} findings; this CLIP "
                    f"model expects {self.image_projection.in_features} and {self.finding_head.out_features}",
                    field="init",
                )
            self.image_encoder = encoder
            self.finding_head = head
        self.start = start
        for parameter in self.image_encoder.parameters():
            parameter.requires_grad_(start != "locked")
        self.train(self.training)
        return self

    @property
    def locked(self) -> bool:
        return self.start == "locked"

    def train(self, mode: bool = True) -> ClipModel:
        """As ``nn.Module.train``, but a locked image encoder stays in eval mode (frozen BN statistics)."""
        super().train(mode)
        if self.locked:
            self.image_encoder.eval()
        return self

    # ----------------------------------------------------------------- encoders
    def image_features(self, image: torch.Tensor) -> torch.Tensor:
        """Pooled encoder features ``[B, image_width]`` (no gradient through a locked encoder)."""
        if self.locked:
            with torch.no_grad():
                return self.image_encoder(image)
        return self.image_encoder(image)

    def project_image(self, features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.image_projection(features), dim=-1)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """``[B, C, X, Y, Z]`` → L2-normalised ``[B, embed_dim]``."""
        return self.project_image(self.image_features(image))

    def project_text(self, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled text features ``[..., text_width]`` (e.g. from the frozen cache) → L2-normalised embeddings."""
        return F.normalize(self.text_projection(pooled), dim=-1)

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids and mask ``[B, T]`` → L2-normalised ``[B, embed_dim]``."""
        return self.project_text(self.text_encoder(input_ids, attention_mask))

    def scale(self) -> torch.Tensor:
        """``exp(logit_scale)``, clamped at 100 as CLIP does."""
        return self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()

    def forward(
        self,
        image: torch.Tensor,
        pooled_text: torch.Tensor | None = None,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """Everything one training step needs in one call, so a ``DistributedDataParallel`` wrapper sees it.

        Returns ``(image embeddings [B, D], text embeddings [N, D] or None, finding-head logits
        [B, K], scale)``. Texts come either as cached pooled features ``[N, text_width]`` or as
        tokens. Export and inference use :meth:`encode_image` / :meth:`encode_text` instead.
        """
        features = self.image_features(image)
        if pooled_text is None and input_ids is not None and attention_mask is not None:
            pooled_text = self.text_encoder(input_ids, attention_mask)
        text = self.project_text(pooled_text) if pooled_text is not None else None
        return self.project_image(features), text, self.finding_head(features), self.scale()

    def trainable_summary(self) -> dict[str, Any]:
        """Parameter counts by part (what a locked run actually trains)."""
        parts = {
            "image_encoder": self.image_encoder,
            "text_encoder": self.text_encoder,
            "projections": nn.ModuleList([self.image_projection, self.text_projection]),
            "finding_head": self.finding_head,
        }
        return {
            name: {
                "trainable": sum(p.numel() for p in part.parameters() if p.requires_grad),
                "total": sum(p.numel() for p in part.parameters()),
            }
            for name, part in parts.items()
        }
