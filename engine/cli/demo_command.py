"""``radcurate demo [DIR]``: the whole loop on a phantom cohort, offline, with a summary table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from radcurate.engine.cli.app import app, console, print_json, progress_bar
from radcurate.engine.demo.run import DEFAULT_CASES, DEFAULT_EPOCHS


def _auc(step: dict[str, Any] | None, key: str = "macro_auc", ci: str = "macro_ci") -> str:
    if not step or step.get(key) is None:
        return "n/a"
    interval = step.get(ci)
    shown = f"95% CI {interval[0]:.2f}–{interval[1]:.2f}; " if interval else ""
    return f"{step[key]:.3f} ({shown}test split, {step.get('studies')} studies)"


def _summary(result: Any) -> Any:
    from rich.table import Table

    s = result.steps
    table = Table(title="radcurate demo", show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a path is folded onto the next line, never cut with "…"
    imp = s["import"]["imported"]
    table.add_row("phantom", f"{s['phantom'].get('cases')} cases in {result.cohort}")
    table.add_row("import", f"{imp['studies']} studies, {imp['series']} series, {imp['reports']} reports new")
    agr = s["agreement"]["macro"]
    table.add_row(
        "extractor agreement",
        f"rules vs the reports: macro F1 {agr['f1']:.3f}, κ {agr['kappa']:.3f}" if agr.get("f1") is not None else "n/a",
    )
    review = s.get("review", {})
    if review:
        kappa = review.get("kappa")
        table.add_row(
            "readers",
            (f"κ between readers {kappa:.3f}; " if kappa is not None else "")
            + f"dr_a corrected {review['dr_a']['corrected']}, dr_b {review['dr_b']['corrected']}; "
            f"adjudicated {review['dr_adjudicator']['settled']}",
        )
    labels = review.get("train_labels", {})
    if labels.get("cells"):
        silver, now = labels["silver"], labels["trained_on"]
        table.add_row(
            "training labels",
            f"{labels['studies']} train studies: silver {silver['wrong']} wrong, {silver['masked']} masked "
            f"(uncertain) → after the review {now['wrong']} wrong, {now['masked']} masked, of "
            f"{labels['cells']} cells, vs the image truth",
        )
    ranking = s.get("ranking", {})
    if ranking.get("gain") is not None:
        table.add_row(
            "ranking gain",
            f"first {ranking['first']}: {ranking['errors_per_case_ranked']} silver errors/case vs "
            f"{ranking['errors_per_case_random']} random = {ranking['gain']}×",
        )
    if "supervised_before" in s:
        table.add_row("supervised AUC before", _auc(s["supervised_before"]))
        table.add_row("supervised AUC after", _auc(s["supervised_after"]))
        table.add_row("CLIP zero-shot AUC", _auc(s["clip"], "zero_shot_macro_auc", "zero_shot_macro_ci"))
        tri = s["triage"]
        table.add_row(
            "triage",
            f"{tri['volumes']} volumes, {tri['seconds_per_volume']} s/volume (onnxruntime), + '{tri['question']}'",
        )
    else:
        table.add_row("learning", s.get("learning", {}).get("skipped", ""))
    table.add_row("", "")
    table.add_row("project", result.project)
    if "export_onnx" in s:
        table.add_row("ONNX bundle", s["export_onnx"]["bundle"])
        table.add_row("triage scores", s["triage"]["out"])
    table.add_row("curated dataset", s["export_dataset"]["out"])
    table.add_row("wall time", f"{result.seconds / 60:.1f} min")
    return table


@app.command()
def demo(
    directory: Path = typer.Argument(Path("radcurate-demo"), help="Folder for the cohort and the project."),
    cases: int = typer.Option(DEFAULT_CASES, "--cases", min=2, help="Phantom studies to generate."),
    seed: int = typer.Option(0, "--seed", help="Phantom seed."),
    epochs: int = typer.Option(DEFAULT_EPOCHS, "--epochs", min=1, help="Training epochs for each model."),
    open_app: bool = typer.Option(False, "--open", help="Open the review app on the project afterwards."),
    as_json: bool = typer.Option(False, "--json", help="Print what each step did as JSON."),
) -> None:
    """Run the whole loop on a synthetic cohort, offline: import, extract, review, train, export, triage, curate.

    Needs no API key and no network; CPU only. Running it again reuses what is there.

    Example: radcurate demo /tmp/radcurate-demo
    """

    from radcurate.engine.demo.run import run_demo

    with progress_bar(stderr=True) as bar:
        task = bar.add_task("starting", total=None)
        current: dict[str, Any] = {}

        def finish_step() -> None:
            # a finished step stays on screen (and in a log, where the live bar is not drawn)
            if current:
                bar.console.print(f"[green]✓[/] {current['message']}  [dim]{time.monotonic() - current['t']:.1f} s[/]")

        def step(message: str) -> None:
            finish_step()
            current.update(message=message, t=time.monotonic())
            bar.update(task, description=message, completed=0, total=None)

        def progress(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total or None)

        result = run_demo(directory, cases=cases, seed=seed, epochs=epochs, step=step, progress=progress)
        finish_step()
    if as_json:
        print_json(result.as_json())
    else:
        console.print(_summary(result))
        console.print(f"next: radcurate review {result.project}", soft_wrap=True)
    if open_app:  # the desktop's own command, in its own process: the engine never imports Qt
        import subprocess
        import sys

        code = subprocess.call([sys.executable, "-m", "radcurate.engine.cli", "review", result.project])
        if code:
            raise typer.Exit(code)
