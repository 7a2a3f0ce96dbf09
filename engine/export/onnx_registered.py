"""Exporting a registered model: the glue between the registry (training) and the ONNX bundle writer.

``radcurate export-onnx`` and ``radcurate demo`` call :func:`export_registered`. It lives in the
export stage, which sits above training in the engine's layers: a bundle is made from a trained
model, never the other way round.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.engine.export.onnx_export import Evaluation, ModelInfo, export_clip, export_supervised
from radcurate.engine.training import model_files, registry, splits
from radcurate.engine.training.dataset import label_table
from radcurate.engine.volumes.numpy_preprocessing import recipe_from_settings


def int8_evaluation(project: Any, findings: tuple[str, ...]) -> Evaluation:
    """Test-split inputs and labels (-1 where unlabelled) and training inputs to calibrate int8 on."""
    table = label_table(project, project.settings.training, with_evidence=False)
    split = splits.ensure_split(project.db, project.settings.training)
    test = table.subset(splits.studies_in(split, ["test"]))
    train = table.subset(splits.studies_in(split, ["train"]))
    if not len(test) or not len(train):
        raise InputError("--int8 needs labelled studies in the test and train splits to check the AUC on", field="int8")
    columns = [table.findings.index(f) for f in findings]
    labels = np.where(test.mask[:, columns] > 0, test.labels[:, columns], -1).astype(np.int64)
    images = np.stack([project.preprocessed(s) for s in test.series_ids]).astype(np.float32)
    calibration = np.stack([project.preprocessed(s) for s in train.series_ids[:32]]).astype(np.float32)
    return Evaluation(images=images, labels=labels, calibration=calibration)


def export_registered(project: Any, model: str | int, out: Path, *, int8: bool = False) -> dict[str, Any]:
    """Load registered ``model`` of the open ``project`` and write its bundle at ``out``.

    The preprocessing recipe is the one the model was trained with (its ``model.pt``), so the bundle
    keeps computing that even if the project's ``[preprocessing]`` is edited later.
    """
    loaded = model_files.load(project, model)
    record = loaded.record
    parent = registry.get(project.db, record.parent).version if record.parent is not None else None
    info = ModelInfo(
        id=record.version,
        kind=record.kind,
        parent=parent,
        label_snapshot=record.label_snapshot,
        metrics=record.metrics,
        settings=record.settings,
    )
    recipe = recipe_from_settings(SimpleNamespace(**loaded.payload["preprocessing"]))
    evaluation = int8_evaluation(project, loaded.findings) if int8 else None
    if record.kind == "clip":
        task = loaded.task
        return export_clip(
            task.model,
            Path(out),
            info=info,
            findings=loaded.findings,
            templates=[(t.positive, t.negative) for t in task.objective.templates],
            recipe=recipe,
            text_model_dir=task.model.text_encoder.model_dir,
            ensemble=task.objective.ensemble,
            int8=int8,
            evaluation=evaluation,
        )
    if record.kind == "supervised":
        return export_supervised(
            loaded.task.model,
            Path(out),
            info=info,
            findings=loaded.findings,
            recipe=recipe,
            int8=int8,
            evaluation=evaluation,
        )
    raise InputError(
        f"model {record.version} is a {record.kind}; export its base model or a clip/supervised model",
        field="model",
    )
