"""Scoring every study with a model, storing the scores, and the after-training report on the locked test split.

Scores go to the ``scores`` table (model, study, finding, score in [0, 1]): the desktop's Findings
table and the review ranking read the newest model's (``Project.scores``). A supervised model stores
its sigmoid outputs, a CLIP model its zero-shot scores, a probe its one finding's probability.
Every study with a volume is scored, labelled or not (a new study is what ranking needs most).

:func:`after_training` also measures the new model on the project's test split (its current
labels: the split is locked, the labels are what readers made of them) and the previous model of
the same kind and start on exactly the same cells, so "retraining after new decisions" reports an
AUC change that compares like with like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from radcurate.engine.errors import RadcurateError
from radcurate.engine.store import scores as score_store
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.training import model_files, registry, splits
from radcurate.engine.training.dataset import label_table
from radcurate.engine.training.metrics import macro, masked_aucs
from radcurate.engine.training.model_files import LoadedModel
from radcurate.engine.training.registry import ModelRecord

if TYPE_CHECKING:
    from radcurate.engine.project import Project

BATCH = 8


def predict_studies(
    project: Project,
    loaded: LoadedModel,
    study_ids: Sequence[str],
    *,
    scorer: Callable[[Any, dict[str, Any]], torch.Tensor] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[str], np.ndarray]:
    """(studies scored, ``[N, K]`` scores) for those of ``study_ids`` with a volume (eval centre crop)."""
    task = loaded.task
    task.model.eval()
    score = scorer or (lambda t, batch: t.predict(batch))
    kept: list[str] = []
    out: list[np.ndarray] = []
    pending: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        if pending:
            images = torch.from_numpy(np.stack([image for _, image in pending]))
            with torch.no_grad():
                out.append(score(task, {"image": images}).detach().cpu().numpy())
            kept.extend(s for s, _ in pending)
            pending.clear()

    for i, study_id in enumerate(study_ids):
        series = project.series(study_id)
        if series:
            pending.append((study_id, project.preprocessed(series[0].id)))
        if len(pending) == BATCH:
            flush()
        if on_progress is not None:
            on_progress(i + 1, len(study_ids))
    flush()
    width = len(loaded.findings)
    return kept, np.concatenate(out) if out else np.zeros((0, width), np.float32)


def store_scores(
    project: Project, model_id: int, findings: Sequence[str], studies: Sequence[str], scores: np.ndarray
) -> int:
    """Replace the model's scores with these; returns the number of rows written."""
    rows = [
        (s, f, float(scores[i, k]))
        for i, s in enumerate(studies)
        for k, f in enumerate(findings)
        if np.isfinite(scores[i, k])
    ]
    with write_transaction(project.db) as conn:
        conn.execute("DELETE FROM scores WHERE model_id = ?", (model_id,))
        return score_store.put(conn, model_id, rows)


def score_all(project: Project, model: int | str, on_progress: Callable[[int, int], None] | None = None) -> int:
    """Score every study with a volume and store the scores; returns the rows written."""
    loaded = model_files.load(project, model)
    studies, scores = predict_studies(project, loaded, project.study_ids(), on_progress=on_progress)
    return store_scores(project, loaded.record.id, loaded.findings, studies, scores)


def test_split_aucs(project: Project, loaded: LoadedModel, split: dict[str, str]) -> dict[str, float]:
    """Per-finding AUC on the test split's current labels (labelled cells only)."""
    table = label_table(project, project.settings.training, with_evidence=False)
    test = table.subset(splits.studies_in(split, ["test"]))
    if not len(test):
        return {}
    columns = [table.findings.index(f) for f in loaded.findings]
    studies, scores = predict_studies(project, loaded, test.study_ids)
    rows = test.subset(studies)
    return masked_aucs(scores, rows.labels[:, columns], rows.mask[:, columns], loaded.findings)


def _previous(project: Project, model: ModelRecord) -> ModelRecord | None:
    for other in registry.models(project.db, model.kind):
        if other.id < model.id and other.start == model.start:
            return other
    return None


def after_training(project: Project, model: ModelRecord, split: dict[str, str]) -> ModelRecord:
    """Score every study, then record test-split AUCs and the change against the previous model."""
    loaded = model_files.load(project, model.id)
    studies, scores = predict_studies(project, loaded, project.study_ids())
    written = store_scores(project, model.id, loaded.findings, studies, scores)
    aucs = test_split_aucs(project, loaded, split)
    metrics: dict[str, Any] = {"scored_studies": len(studies), "score_rows": written}
    metrics["test_auc"] = {"macro": macro(aucs), "findings": aucs}
    previous = _previous(project, model)
    if previous is not None:
        try:
            before = test_split_aucs(project, model_files.load(project, previous.id), split)
        except RadcurateError as exc:  # its files are gone or it used other preprocessing
            metrics["previous"] = {"model": previous.version, "error": str(exc)}
        else:
            common = sorted(set(before) & set(aucs))
            metrics["previous"] = {
                "model": previous.version,
                "label_snapshot": previous.label_snapshot,
                "test_macro": macro(before, common),
                "test_macro_change": macro(aucs, common) - macro(before, common),
            }
    return registry.update_metrics(project.db, model.id, **metrics)
