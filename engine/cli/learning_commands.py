"""``train``, ``models``, ``evaluate``, ``score``: models learned from the project's labels (engine/training/).

torch and monai are imported inside the commands (the ``[train]`` extra), so ``--help`` stays fast
and a core install reports a missing extra in one line.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from radcurate.engine.cli.app import app, console, print_json, progress_bar, sigterm_as_interrupt

JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def _fmt(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


@app.command()
def train(
    directory: Path = typer.Argument(..., help="Project folder."),
    kind: str = typer.Option("supervised", "--kind", help="supervised, clip or probe."),
    init: Optional[str] = typer.Option(None, "--init", help="CLIP: start from this supervised model."),  # noqa: UP045
    lock: bool = typer.Option(False, "--lock", help="CLIP with --init: freeze the image encoder (LiT)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs (default: training.epochs)."),  # noqa: UP045
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run with these options."),
    withhold: list[str] = typer.Option([], "--withhold", help="Drop this finding from every label (repeatable)."),
    finding: Optional[str] = typer.Option(None, "--finding", help="Probe: the finding to learn."),  # noqa: UP045
    from_model: Optional[str] = typer.Option(  # noqa: UP045
        None, "--from", "--from-model", help="Probe: the model whose frozen embeddings it uses."
    ),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed (default: training.seed)."),  # noqa: UP045
    job: Optional[int] = typer.Option(None, "--job", help="Claim this queued job (used by background jobs)."),  # noqa: UP045
    as_json: bool = JSON_OPT,
) -> None:
    """Train a model on the project's labels as a resumable job; registers it and scores every study.

    Under `torchrun --nproc_per_node N -m radcurate.engine.cli train ...` the same command trains with
    N processes (DDP semantics, gloo on CPU).

    Example: radcurate train myproject --kind clip --init supervised-1 --lock --epochs 20
    """
    from radcurate.engine.project import Project
    from radcurate.engine.training.runs import TrainRequest
    from radcurate.engine.training.runs import train as run_train

    names = tuple(n.strip() for item in withhold for n in item.split(",") if n.strip())
    request = TrainRequest(kind, epochs, init, lock, names, finding, from_model, seed)
    sigterm_as_interrupt()
    with Project.open(directory) as project, progress_bar(remaining=True, note=True, stderr=True) as bar:
        task = bar.add_task(f"train {kind}", total=None, note="")

        def on_progress(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, note=message)

        model = run_train(project, request, job_id=job, resume=resume, on_progress=on_progress)
        if model is not None and os.environ.get("RANK", "0") == "0":
            project.refresh_priorities()  # its scores are in: store each study's review priority now
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun only rank 0 reports (it alone registers the model)
    if model is None:
        if as_json:
            print_json({"status": "cancelled"})
        else:
            console.print("cancelled: the last finished epoch's checkpoint stays; rerun with --resume")
        return
    if as_json:
        print_json(model.as_json())
        return
    test = model.metrics.get("test_auc", {})
    line = f"{model.version}: test macro AUC {_fmt(test.get('macro'))}"
    previous = model.metrics.get("previous")
    if previous and "test_macro_change" in previous:
        line += f" ({previous['test_macro_change']:+.3f} vs {previous['model']} on the same test split)"
    console.print(line)


@app.command()
def models(directory: Path = typer.Argument(..., help="Project folder."), as_json: bool = JSON_OPT) -> None:
    """List the model registry, newest first.

    Example: radcurate models myproject --json
    """
    from radcurate.engine.project import Project
    from radcurate.engine.training import registry

    with Project.open(directory) as project:
        found = registry.models(project.db)
    if as_json:
        print_json([m.as_json() for m in found])
        return
    table = Table("id", "version", "kind", "start", "parent", "test macro AUC", "label snapshot", "created")
    for m in found:
        test = m.metrics.get("test_auc", {}).get("macro")
        table.add_row(
            str(m.id), m.version, m.kind, m.start, str(m.parent or ""), _fmt(test), m.label_snapshot[:12], m.created_at
        )
    console.print(table)


@app.command()
def evaluate(
    directory: Path = typer.Argument(..., help="Project folder holding the model."),
    model: str = typer.Argument(..., help="Model id or version (see `radcurate models`)."),
    on: Optional[Path] = typer.Option(None, "--on", help="Evaluate on every study of another project."),  # noqa: UP045
    reference: Optional[str] = typer.Option(  # noqa: UP045
        None, "--reference", help="Label source to evaluate against (default: the project's labels)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Per-finding AUC with bootstrap 95% CIs on the locked test split (or another project).

    Example: radcurate evaluate myproject supervised-1 --on cohort2 --reference truth --json
    """
    from radcurate.engine.project import Project
    from radcurate.engine.training.evaluation import evaluate as run_evaluate

    with Project.open(directory) as project:
        if on is None:
            doc = run_evaluate(project, model, reference=reference)
        else:
            with Project.open(on) as other:
                doc = run_evaluate(project, model, on=other, reference=reference)
    if as_json:
        print_json(doc)
        return
    auc, zero = doc["auc"], doc.get("zero_shot_auc") or {}
    table = Table("finding", "AUC", "95% CI", *(["zero-shot", "95% CI", "templates"] if zero else []))
    for name, value in auc["findings"].items():
        ci = auc["ci"].get(name)
        row = [name, _fmt(value), f"{_fmt(ci[0])}–{_fmt(ci[1])}" if ci else ""]
        if zero:
            z, zci, spread = zero["findings"].get(name), zero["ci"].get(name), zero.get("template_spread", {}).get(name)
            row += [
                _fmt(z),
                f"{_fmt(zci[0])}–{_fmt(zci[1])}" if zci else "",
                f"{_fmt(spread[0])}–{_fmt(spread[1])}" if spread else "",
            ]
        table.add_row(*row)
    table.add_row("macro", _fmt(auc["macro"]), "", *([_fmt(zero.get("macro")), "", ""] if zero else []))
    console.print(f"{doc['version']} ({doc['kind']}) on {doc['studies']} studies ({doc['split']}, {doc['reference']})")
    console.print(table)
    if "text_ceiling" in doc:
        console.print(
            f"text-side ceiling (the prompt rule on the reports' own text): {_fmt(doc['text_ceiling']['macro'])}"
        )
    for name, part in (doc.get("withheld") or {}).items():
        ci = part.get("ci") or [None, None]
        console.print(f"withheld {name}: zero-shot AUC {_fmt(part['zero_shot_auc'])} ({_fmt(ci[0])}–{_fmt(ci[1])})")


@app.command()
def score(
    directory: Path = typer.Argument(..., help="Project folder."),
    model: str = typer.Argument(..., help="Model id or version."),
    as_json: bool = JSON_OPT,
) -> None:
    """Score every study with a model and store the scores (training does this itself).

    Example: radcurate score myproject supervised-2
    """
    from radcurate.engine.project import Project
    from radcurate.engine.training.scoring import score_all

    with Project.open(directory) as project, progress_bar(remaining=True, note=True, stderr=True) as bar:
        task = bar.add_task("score", total=None, note="")
        rows = score_all(project, model, on_progress=lambda d, t: bar.update(task, completed=d, total=t))
        project.refresh_priorities()  # the new scores: store each study's review priority now
    if as_json:
        print_json({"model": model, "score_rows": rows})
