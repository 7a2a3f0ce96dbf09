"""Few-shot for a new finding: a logistic-regression probe on a trained model's frozen image embeddings.

DLILP's observation: a linear probe on label-supervised features beats zero-shot prompting. The
probe is fitted (scikit-learn ``LogisticRegression`` on standardised features) on the studies
readers *decided* for the finding (the project's gold: adjudicated or agreed) in the train and
validation splits — silver labels never enter, and the test split stays locked for evaluation.
Under :data:`MIN_PER_CLASS` decided studies of either class it refuses, naming the counts.

Embeddings: a supervised model's pooled ResNet features; a CLIP model's pooled image-encoder
features. A probe is a registered model like any other (kind ``probe``, parent = its base), its
coefficients in ``model.pt`` (plain lists: no pickled scikit-learn object), scored like any model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from radcurate.engine.errors import InputError
from radcurate.engine.training import model_files, registry, splits
from radcurate.engine.training.dataset import target
from radcurate.engine.training.model_files import LoadedModel
from radcurate.engine.training.registry import ModelRecord
from radcurate.engine.training.supervised import pooled_features

if TYPE_CHECKING:
    from radcurate.engine.project import Project

MIN_PER_CLASS = 8


def embed(task: Any, image: torch.Tensor) -> torch.Tensor:
    """Frozen image features ``[B, F]`` of a supervised or CLIP task."""
    if getattr(task, "kind", "") == "clip":
        return task.model.image_features(image)
    return pooled_features(task.model, image)


class ProbeTask:
    """A base model's embedding + one logistic regression: ``predict`` → ``[B, 1]`` probabilities."""

    kind = "probe"

    def __init__(
        self, base: LoadedModel, finding: str, coef: np.ndarray, intercept: float, mean: np.ndarray, scale: np.ndarray
    ):
        self.base = base
        self.model = base.task.model
        self.findings = (finding,)
        self.coef, self.intercept, self.mean, self.scale = coef, intercept, mean, scale

    @classmethod
    def from_payload(cls, base: LoadedModel, payload: dict[str, Any]) -> ProbeTask:
        p = payload["probe"]
        return cls(
            base,
            payload["findings"][0],
            np.asarray(p["coef"]),
            float(p["intercept"]),
            np.asarray(p["mean"]),
            np.asarray(p["scale"]),
        )

    @torch.no_grad()
    def predict(self, batch: dict[str, Any]) -> torch.Tensor:
        features = embed(self.base.task, batch["image"]).cpu().numpy()
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return torch.from_numpy(1.0 / (1.0 + np.exp(-z))).float()[:, None]


def decided_studies(project: Project, finding: str, split: dict[str, str]) -> dict[str, float]:
    """``{study: 0/1}`` where readers decided ``finding`` (gold), in the train and validation splits."""
    uncertain = project.settings.training.uncertain
    out = {}
    for study_id, labels in project.project_labels().items():
        label = labels.get(finding)
        if label is None or not label.is_gold or split.get(study_id) not in ("train", "val"):
            continue
        value = target(label.state, uncertain)
        if value is not None and project.series(study_id):
            out[study_id] = value
    return out


def train_probe(project: Project, finding: str, from_model: str, *, job_id: int | None = None) -> ModelRecord:
    """Fit, save, register and score a probe for ``finding`` on ``from_model``'s embeddings."""
    from sklearn.linear_model import LogisticRegression

    from radcurate.engine.training.scoring import after_training, predict_studies

    finding = project.vocabulary.resolve(finding)
    base = model_files.load(project, from_model)
    if base.record.kind == "probe":
        raise InputError("a probe needs a supervised or CLIP model to embed with, not another probe", field="from")
    split = splits.ensure_split(project.db, project.settings.training)
    decided = decided_studies(project, finding, split)
    positives = sum(1 for v in decided.values() if v > 0.5)
    negatives = len(decided) - positives
    if min(positives, negatives) < MIN_PER_CLASS:
        raise InputError(
            f"a probe for {finding!r} needs at least {MIN_PER_CLASS} decided studies of each class in the train/val "
            f"splits; readers decided {positives} present and {negatives} absent",
            field="finding",
        )
    studies, features = predict_studies(project, base, list(decided), scorer=lambda t, b: embed(t, b["image"]))
    y = np.asarray([decided[s] for s in studies])
    mean, scale = features.mean(0), features.std(0) + 1e-6
    clf = LogisticRegression(C=1.0, max_iter=2000).fit((features - mean) / scale, y)
    version = registry.next_version(project.db, "probe")
    payload = {
        "kind": "probe",
        "base": base.record.version,
        "findings": [finding],
        "preprocessing": base.payload["preprocessing"],
        "probe": {
            "coef": clf.coef_[0].tolist(),
            "intercept": float(clf.intercept_[0]),
            "mean": mean.tolist(),
            "scale": scale.tolist(),
        },
    }
    files = [model_files.write(project.path / "models" / version, payload)]
    digest = _snapshot(finding, decided)
    record = registry.register(
        project.db,
        project.path,
        version=version,
        kind="probe",
        start="probe",
        parent=base.record.id,
        settings={"finding": finding, "from": base.record.version, "C": 1.0, "min_per_class": MIN_PER_CLASS},
        label_snapshot=digest,
        metrics={"shots": {"present": positives, "absent": negatives}},
        files=files,
        job_id=job_id,
    )
    return after_training(project, record, split)


def _snapshot(finding: str, decided: dict[str, float]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps([finding, sorted(decided.items())]).encode()).hexdigest()
