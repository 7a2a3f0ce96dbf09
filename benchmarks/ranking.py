"""Review ranking vs random order: silver-label errors found per case reviewed (DESIGN §4 Ranking).

For each seed: a phantom cohort (known truth: what is drawn in each volume), imported and labelled
by the rule-based extractor; then a known share of studies (default 15 %) get one silver label
corrupted among the findings the phantom draws — a flip (present ↔ absent) or a drop (present →
not mentioned); then ``radcurate train --kind supervised`` (the Learning stage's own training,
which scores every study), and the worklist ranking. A silver error is a (study, finding) whose
silver label, read as training reads it (present → 1, else 0), differs from the truth; errors
the extractor made on its own count too.

Printed: errors found per case reviewed in the first 10 % / 25 % of the worklist, for the ranking
with the model, the ranking before any model (uncertain states and flagged quotes only) and random
order (its exact expectation: all errors / all cases), mean over seeds, and the ratios.

    .venv/bin/python benchmarks/ranking.py --cases 60 --seeds 3 --epochs 12
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from radcurate.engine.demo.phantom import generate_cohort
from radcurate.engine.project import Project
from radcurate.engine.review.ranking import rank
from radcurate.engine.store.decisions import write_transaction


def _truth(path: Path) -> dict[str, dict[str, int]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["study_id"]: {k: int(v) for k, v in row.items() if k != "study_id"} for row in csv.DictReader(handle)
        }


def _silver(project: Project) -> dict[str, dict[str, str]]:
    return {s: {f: lab.state.value for f, lab in project.shown_silver(s)[0].items()} for s in project.study_ids()}


def _corrupt(project: Project, drawn: list[str], fraction: float, rng: np.random.Generator) -> int:
    """One silver label changed in ``fraction`` of the studies; returns how many were changed."""
    studies = project.study_ids()
    chosen = rng.choice(len(studies), size=max(1, round(fraction * len(studies))), replace=False)
    silver = _silver(project)
    with write_transaction(project.db) as conn:
        for i in chosen:
            study = studies[int(i)]
            finding = drawn[int(rng.integers(len(drawn)))]
            state = silver[study][finding]
            new = ("absent" if rng.random() < 0.5 else "not_mentioned") if state == "present" else "present"
            conn.execute(
                "UPDATE silver_labels SET state = ? WHERE study_id = ? AND finding = ? AND source = 'rules'",
                (new, study, finding),
            )
    return len(chosen)


def _errors(project: Project, truth: dict[str, dict[str, int]]) -> dict[str, int]:
    out = {}
    for study, states in _silver(project).items():
        out[study] = sum(int(states.get(f) == "present") != t for f, t in truth[study].items() if f in states)
    return out


def _found(order: list[str], errors: dict[str, int], share: float) -> float:
    n = max(1, round(share * len(order)))
    return sum(errors[s] for s in order[:n]) / n


def one_seed(seed: int, cases: int, fraction: float, epochs: int, work: Path) -> dict[str, float]:
    cohort = generate_cohort(work / f"cohort{seed}", cases, seed, compressed_fraction=0.0)
    truth = _truth(cohort.truth_path)
    path = work / f"project{seed}"
    with Project.create(path, preset="demo") as project:
        project.import_paths([cohort.out / "volumes"], reports=[cohort.reports_path])
        project.extract("rules")
        changed = _corrupt(project, cohort.findings_drawn, fraction, np.random.default_rng(seed))
        errors = _errors(project, truth)
        before = [r.study_id for r in rank(project.db, project.vocabulary)]
    started = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "radcurate.engine.cli",
            "train",
            str(path),
            "--kind",
            "supervised",
            "--epochs",
            str(epochs),
            "--seed",
            str(seed),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"train failed for seed {seed}: {run.stderr.strip()[-500:]}")
    trained_s = time.perf_counter() - started
    auc = (json.loads(run.stdout).get("metrics", {}).get("test_auc") or {}).get("macro")
    with Project.open(path) as project:
        after = [r.study_id for r in rank(project.db, project.vocabulary)]
    total = sum(errors.values())
    row = {"seed": seed, "cases": cases, "corrupted": changed, "errors": total, "train_s": trained_s}
    row["test_auc"] = float(auc) if isinstance(auc, int | float) else float("nan")
    for share in (0.10, 0.25):
        key = int(share * 100)
        row[f"model_{key}"] = _found(after, errors, share)
        row[f"nomodel_{key}"] = _found(before, errors, share)
        row[f"random_{key}"] = total / len(errors)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.15, help="share of studies with a corrupted label")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--keep", type=Path, default=None, help="keep the cohorts and projects in this folder")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="radcurate-ranking-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for seed in range(args.seeds):
            row = one_seed(seed, args.cases, args.fraction, args.epochs, work)
            rows.append(row)
            print(
                f"seed {seed}: {row['errors']} silver errors ({row['corrupted']} planted) in {row['cases']} cases; "
                f"first 10%: model {row['model_10']:.2f}, no model {row['nomodel_10']:.2f}, random "
                f"{row['random_10']:.2f} errors/case; model test macro AUC {row['test_auc']:.3f}, "
                f"trained in {row['train_s']:.0f} s",
                flush=True,
            )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "seed"}
    print(
        f"\nsilver errors found per case reviewed, mean over {len(rows)} seeds "
        f"({args.cases} cases, {args.fraction:.0%} of studies corrupted, {args.epochs} epochs)"
    )
    print(f"{'order':<32}{'first 10%':>12}{'first 25%':>12}{'x random (10%)':>16}{'x random (25%)':>16}")
    for name, label in (
        ("model", "ranking (model + doubts)"),
        ("nomodel", "ranking before a model"),
        ("random", "random order"),
    ):
        r10, r25 = mean[f"{name}_10"], mean[f"{name}_25"]
        print(f"{label:<32}{r10:>12.2f}{r25:>12.2f}{r10 / mean['random_10']:>16.2f}{r25 / mean['random_25']:>16.2f}")


if __name__ == "__main__":
    main()
