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
order (its exact expectation: all errors / all cases), mean over seeds, and the ratios — once for
all silver errors and once for definite ones (an uncertain silver label is masked in training, so
it is a missing label rather than a wrong one).

    .venv/bin/python benchmarks/ranking.py --cases 30 --seeds 3 --epochs 6 --keep /tmp/rankbench
    .venv/bin/python benchmarks/ranking.py --seeds 3 --keep /tmp/rankbench --rerank   # rank again, no training
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
from typing import Any

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


def _errors(project: Project, truth: dict[str, dict[str, int]], *, definite: bool) -> dict[str, int]:
    """Silver errors per study; ``definite`` leaves out uncertain silver labels (training masks them)."""
    out = {}
    for study, states in _silver(project).items():
        out[study] = sum(
            int(states[f] == "present") != t
            for f, t in truth[study].items()
            if f in states and not (definite and states[f] == "uncertain")
        )
    return out


def _found(order: list[str], errors: dict[str, int], share: float) -> float:
    n = max(1, round(share * len(order)))
    return sum(errors[s] for s in order[:n]) / n


def prepare(seed: int, cases: int, fraction: float, epochs: int, work: Path) -> dict[str, Any]:
    """Cohort, project, corrupted silver labels and a trained (and scoring) supervised model."""
    cohort = generate_cohort(work / f"cohort{seed}", cases, seed, compressed_fraction=0.0)
    path = work / f"project{seed}"
    with Project.create(path, preset="demo") as project:
        project.import_paths([cohort.out / "volumes"], reports=[cohort.reports_path])
        project.extract("rules")
        changed = _corrupt(project, cohort.findings_drawn, fraction, np.random.default_rng(seed))
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
    (work / f"seed{seed}.json").write_text(json.dumps({"corrupted": changed, "train_s": time.perf_counter() - started}))
    return {"corrupted": changed}


def evaluate(seed: int, work: Path) -> dict[str, float]:
    """Errors found per case in the first 10 % / 25 %: ranking with the model, before it, random."""
    truth = _truth(work / f"cohort{seed}" / "truth.csv")
    info = json.loads((work / f"seed{seed}.json").read_text())
    row: dict[str, float] = {"seed": seed, **info}
    with Project.open(work / f"project{seed}") as project:
        after = [r.study_id for r in rank(project.db, project.vocabulary)]
        before = [r.study_id for r in rank(project.db, project.vocabulary, use_models=False)]
        auc = project.db.execute("SELECT metrics FROM models ORDER BY id DESC LIMIT 1").fetchone()
        test = (json.loads(auc[0]).get("test_auc") or {}) if auc else {}
        row["test_auc"] = float(test.get("macro") or float("nan"))
        for kind in ("all", "definite"):
            errors = _errors(project, truth, definite=kind == "definite")
            row[f"{kind}_errors"] = sum(errors.values())
            row["cases"] = len(errors)
            for share in (0.10, 0.25):
                key = f"{kind}_{int(share * 100)}"
                row[f"model_{key}"] = _found(after, errors, share)
                row[f"nomodel_{key}"] = _found(before, errors, share)
                row[f"random_{key}"] = sum(errors.values()) / len(errors)
    return row


def _table(rows: list[dict[str, float]], kind: str, title: str) -> None:
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    print(f"\n{title}: {mean[kind + '_errors']:.1f} per seed in {mean['cases']:.0f} cases")
    print(f"{'order':<30}{'first 10%':>11}{'first 25%':>11}{'× random 10%':>14}{'× random 25%':>14}")
    for name, label in (
        ("model", "ranking with the model"),
        ("nomodel", "ranking before a model"),
        ("random", "random order"),
    ):
        r10, r25 = mean[f"{name}_{kind}_10"], mean[f"{name}_{kind}_25"]
        b10, b25 = mean[f"random_{kind}_10"], mean[f"random_{kind}_25"]
        print(
            f"{label:<30}{r10:>11.3f}{r25:>11.3f}{r10 / b10 if b10 else float('nan'):>14.2f}"
            f"{r25 / b25 if b25 else float('nan'):>14.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.15, help="share of studies with a corrupted label")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--keep", type=Path, default=None, help="keep the cohorts and projects in this folder")
    parser.add_argument("--rerank", action="store_true", help="only rank again the projects kept in --keep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radcurate-ranking-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for seed in range(args.seeds):
            if not args.rerank:
                prepare(seed, args.cases, args.fraction, args.epochs, work)
            row = evaluate(seed, work)
            rows.append(row)
            print(
                f"seed {seed}: {row['all_errors']:.0f} silver errors ({row['definite_errors']:.0f} definite, "
                f"{row['corrupted']:.0f} studies corrupted) in {row['cases']:.0f} cases; model test macro AUC "
                f"{row['test_auc']:.3f}; trained in {row['train_s']:.0f} s",
                flush=True,
            )
    print(
        f"\nsilver errors found per case reviewed, mean over {len(rows)} seeds ({args.fraction:.0%} of studies "
        f"with one corrupted label, supervised model trained {args.epochs} epochs by `radcurate train`)"
    )
    _table(rows, "all", "all silver errors (an uncertain silver label of a drawn finding counts)")
    _table(rows, "definite", "definite errors only (uncertain silver labels left out: training masks them)")


if __name__ == "__main__":
    main()
