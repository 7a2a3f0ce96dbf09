"""The learning half of ``radcurate demo``: train, evaluate, export, triage, rank, curate.

Each step is the engine call the matching command makes (``train``, ``evaluate``, ``export-onnx``,
``triage``, ``worklist``, ``export-dataset``), and each reuses what an earlier demo run left: a
model is looked up in the registry by the demo role recorded in ``demo.json``, a bundle or a
dataset that verifies is kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from radcurate.engine.files.atomic import write_text
from radcurate.engine.project import Project
from radcurate.engine.vocabulary import LabelState

STATE_FILE = "demo.json"
TRUTH_SOURCE = "truth"
QUESTION = "There is a pneumothorax."


def load_state(project: Project) -> dict[str, Any]:
    path = project.path / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save_state(project: Project, state: dict[str, Any]) -> None:
    write_text(project.path / STATE_FILE, json.dumps(state, indent=2, sort_keys=True))


def _known_model(project: Project, model_id: Any) -> bool:
    from radcurate.engine.training import registry

    try:
        registry.get(project.db, model_id)
    except Exception:  # the registry says it is not there (a new project, a pruned model)
        return False
    return True


def train_model(
    project: Project,
    state: dict[str, Any],
    role: str,
    *,
    kind: str,
    epochs: int,
    init: Any = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Train (or reuse) the model playing ``role`` in the demo; its registry id and metrics."""
    from radcurate.engine.training import registry
    from radcurate.engine.training.runs import TrainRequest, train

    models = state.setdefault("models", {})
    if role in models and _known_model(project, models[role]):
        record = registry.get(project.db, models[role])
        return {"id": record.id, "version": record.version, "reused": True, "metrics": record.metrics}
    started = time.monotonic()
    request = TrainRequest(kind=kind, epochs=epochs, init=str(init) if init is not None else None)
    record = train(project, request, on_progress=on_progress)
    if record is None:
        raise RuntimeError(f"the {role} training run was cancelled")
    models[role] = record.id
    save_state(project, state)
    return {"id": record.id, "version": record.version, "seconds": round(time.monotonic() - started, 1)}


def evaluate_on_truth(project: Project, model_id: Any) -> dict[str, Any]:
    """Test-split AUCs against the phantom's image truth (imported as the reference source ``truth``)."""
    from radcurate.engine.errors import InputError
    from radcurate.engine.training.evaluation import evaluate

    try:
        doc = evaluate(project, model_id, reference=TRUTH_SOURCE)
    except InputError as exc:  # a tiny cohort's test split can be empty: say so, the loop goes on
        return {"macro_auc": None, "studies": 0, "evaluation": exc.reason}
    out = {"macro_auc": doc["auc"].get("macro"), "macro_ci": doc["auc"].get("macro_ci"), "studies": doc["studies"]}
    if "zero_shot_auc" in doc:
        out["zero_shot_macro_auc"] = doc["zero_shot_auc"].get("macro")
        out["zero_shot_macro_ci"] = doc["zero_shot_auc"].get("macro_ci")
    return out


def export_bundle(project: Project, model_id: Any, out: Path) -> dict[str, Any]:
    """The ONNX bundle of ``model_id`` at ``out`` (kept when one of the same model verifies)."""
    from radcurate.engine.export.onnx_registered import export_registered
    from radcurate.engine.training import registry
    from radcurate.engine.triage.bundle import open_bundle

    version = registry.get(project.db, model_id).version
    if (out / "manifest.json").exists():
        try:
            bundle = open_bundle(out)
            if bundle.model_id == version:
                return {"bundle": str(out), "model": version, "reused": True}
        except Exception:  # a changed or half-written bundle is exported again
            pass
    started = time.monotonic()
    manifest = export_registered(project, version, out)
    return {
        "bundle": str(out),
        "model": version,
        "parity": manifest.get("parity"),
        "seconds": round(time.monotonic() - started, 1),
    }


def triage_cohort(bundle: Path, volumes: Path, out: Path) -> dict[str, Any]:
    """Score every phantom volume with the bundle, the 18 findings and one free-text question."""
    from radcurate.engine.triage.run import triage, write_output

    started = time.monotonic()
    result = triage(bundle, [volumes], queries=[QUESTION])
    seconds = time.monotonic() - started
    write_output(result, out)
    scored = len(result.rows) if hasattr(result, "rows") else None
    return {
        "out": str(out),
        "volumes": scored,
        "failures": len(result.failures),
        "seconds": round(seconds, 1),
        "seconds_per_volume": round(seconds / scored, 3) if scored else None,
        "question": QUESTION,
    }


def silver_errors(project: Project, truth: dict[str, dict[str, bool]]) -> dict[str, int]:
    """Per study, how many shown silver labels disagree with the image truth (present vs not)."""
    out: dict[str, int] = {}
    for study_id in project.study_ids():
        if study_id not in truth:
            continue
        shown = project.silver(study_id)
        out[study_id] = sum(
            (lab.state is LabelState.PRESENT) != truth[study_id].get(finding, False) for finding, lab in shown.items()
        )
    return out


def training_label_errors(project: Project, truth: dict[str, dict[str, bool]]) -> dict[str, Any]:
    """What the readers' corrections changed in what a training run learns, without a model's noise.

    Over the train split's cells, in the shown silver labels and in what training now learns from
    (readers' gold where they decided): how many contradict the image truth, and how many are
    masked (uncertain or unresolved: training leaves them out, so a finding there is not learnt).
    """
    from radcurate.engine.training import splits

    split = splits.ensure_split(project.db, project.settings.training)
    train = [s for s in splits.studies_in(split, ["train"]) if s in truth]
    effective = project.project_labels()
    counted = {"silver": [0, 0], "trained_on": [0, 0]}  # [wrong, masked]
    for study_id in train:
        silver = {f: lab.state for f, lab in project.silver(study_id).items()}
        now = {f: lab.state for f, lab in effective.get(study_id, {}).items()}
        for name, states in (("silver", silver), ("trained_on", now)):
            for finding, state in states.items():
                if state is None or state is LabelState.UNCERTAIN:
                    counted[name][1] += 1
                else:
                    counted[name][0] += (state is LabelState.PRESENT) != truth[study_id].get(finding, False)
    cells = len(train) * len(project.vocabulary)
    out: dict[str, Any] = {"studies": len(train), "cells": cells}
    for name, (wrong, masked) in counted.items():
        out[name] = {"wrong": wrong, "masked": masked, "right_share": round(1 - (wrong + masked) / cells, 4)}
    return out


def ranking_gain(project: Project, truth: dict[str, dict[str, bool]], fraction: float = 0.1) -> dict[str, Any]:
    """Silver errors found per case reviewed in the ranked worklist's first ``fraction`` vs random order."""
    from radcurate.engine.review.ranking import rank

    errors = silver_errors(project, truth)
    ranked = [r.study_id for r in rank(project.db, project.vocabulary) if r.study_id in errors]
    if not ranked:
        return {"skipped": "no study to rank"}
    top = ranked[: max(1, round(len(ranked) * fraction))]
    per_case_ranked = sum(errors[s] for s in top) / len(top)
    per_case_random = sum(errors.values()) / len(errors)
    return {
        "first": f"{fraction:.0%}",
        "cases": len(top),
        "errors_per_case_ranked": round(per_case_ranked, 3),
        "errors_per_case_random": round(per_case_random, 3),
        "gain": round(per_case_ranked / per_case_random, 2) if per_case_random else None,
        "order": ranked,
    }


def export_curated(project: Project, out: Path) -> dict[str, Any]:
    """The de-identified curated dataset at ``out`` (rewritten each run: labels may have changed)."""
    from radcurate.engine.export.dataset_export import export_dataset

    started = time.monotonic()
    manifest = export_dataset(project, out, deidentify=True, overwrite=True)
    return {"out": str(out), "files": manifest.get("files"), "seconds": round(time.monotonic() - started, 1)}
