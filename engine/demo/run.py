"""``radcurate demo``: the whole loop as it exists so far, on a phantom cohort, offline.

Embedded defaults only: SQLite, the built-in rule-based extractor, no API key, no download. Each
step reuses what a previous run left (the phantom is written once, re-imports are no-ops,
extraction skips labelled reports), so running the demo twice is cheap and safe. The demo grows
with each capability: training, export and triage join here as they land.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radcurate.engine.errors import InputError
from radcurate.engine.project import DATABASE_FILE, Project
from radcurate.engine.vocabulary import LabelState

DEMO_READER = "demo-reader"
REPORT_TRUTH_SOURCE = "phantom-report-truth"


@dataclass
class DemoResult:
    """What the demo did, for the summary table and ``--json``."""

    project: str
    cohort: str
    steps: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"project": self.project, "cohort": self.cohort, "steps": self.steps}


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
        "findings_drawn": len(summary.findings_drawn),
        "seconds": round(summary.seconds, 2),
    }


def _open_project(path: Path) -> Project:
    if (path / DATABASE_FILE).exists():
        return Project.open(path)
    if path.exists() and any(path.iterdir()):
        raise InputError("folder is not empty and holds no radcurate project; choose another DIR", path=path)
    return Project.create(path, preset="demo")


def _scripted_review(project: Project, cases: int) -> dict[str, Any]:
    """A scripted reader confirms the first cases as the extractor labelled them, and corrects one.

    Shows the decision API the review app uses (confirm case, decide, audit trail) without a display.
    """
    done = {e.study_id for e in project.worklist(reader=DEMO_READER) if e.status == "done"}
    reviewed = []
    for study_id in project.study_ids()[:cases]:
        if study_id in done:
            continue
        silver = project.silver(study_id)
        if not silver:
            continue
        first = next(iter(silver))
        corrected = LabelState.UNCERTAIN if silver[first].state != LabelState.UNCERTAIN else LabelState.ABSENT
        project.decide(study_id, first, corrected, reader=DEMO_READER, note="demo correction")
        project.confirm(study_id, {f: label.state for f, label in silver.items()}, reader=DEMO_READER)
        reviewed.append(study_id)
    return {"reader": DEMO_READER, "newly_reviewed": reviewed, "decisions": len(project.history(reader=DEMO_READER))}


def _preprocess_one(project: Project) -> dict[str, Any]:
    try:
        import monai  # noqa: F401
    except ImportError:
        return {"skipped": "install radcurate[train] for MONAI preprocessing"}
    for study_id in project.study_ids():
        for series in project.series(study_id):
            array = project.preprocessed(series.id)
            return {
                "series": series.id,
                "study": study_id,
                "shape": list(array.shape),
                "min": round(float(array.min()), 3),
                "max": round(float(array.max()), 3),
            }
    return {"skipped": "no series imported"}


def run_demo(
    directory: Path, *, cases: int = 16, seed: int = 0, step: Callable[[str], None] = lambda _msg: None
) -> DemoResult:
    """Run every step of the loop that exists on a phantom cohort in ``directory``."""
    directory = Path(directory).expanduser().resolve()
    cohort_dir, project_dir = directory / "cohort", directory / "project"
    result = DemoResult(project=str(project_dir), cohort=str(cohort_dir))

    step(f"phantom cohort: {cases} cases, seed {seed}")
    result.steps["phantom"] = _cohort(cohort_dir, cases, seed)
    with _open_project(project_dir) as project:
        step("import volumes and reports")
        imported = project.import_paths([cohort_dir / "volumes"], reports=[cohort_dir / "reports.csv"])
        result.steps["import"] = imported.as_json()

        step("extract silver labels (rule-based, offline)")
        result.steps["extract"] = project.extract("rules").as_json()

        step("agreement with what the phantom reports state")
        project.import_labels(cohort_dir / "report_truth.csv", source=REPORT_TRUTH_SOURCE)
        agreement = project.agreement(REPORT_TRUTH_SOURCE, "rules").as_json()
        result.steps["agreement"] = {"macro": agreement["macro"], "studies": agreement.get("studies")}

        step("scripted review: confirm cases, correct one finding each")
        result.steps["review"] = _scripted_review(project, cases=3)

        step("preprocess one volume for the network (MONAI, cached)")
        result.steps["preprocess"] = _preprocess_one(project)

        result.steps["status"] = project.status()
    return result
