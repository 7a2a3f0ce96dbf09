"""``radcurate demo [DIR]``: run the loop that exists so far on a phantom cohort, offline."""

from __future__ import annotations

from pathlib import Path

import typer

from radcurate.engine.cli.app import app, console, err_console, print_json


@app.command()
def demo(
    directory: Path = typer.Argument(Path("radcurate-demo"), help="Folder for the cohort and the project."),
    cases: int = typer.Option(16, "--cases", min=2, help="Phantom studies to generate."),
    seed: int = typer.Option(0, "--seed", help="Phantom seed."),
    as_json: bool = typer.Option(False, "--json", help="Print what each step did as JSON."),
) -> None:
    """Run the whole loop on a synthetic cohort: phantom → import → extract → agreement → review → preprocess.

    Needs no API key and no network. Running it again reuses what is there.

    Example: radcurate demo /tmp/radcurate-demo
    """
    from rich.table import Table

    from radcurate.engine.demo.run import run_demo

    with err_console.status("starting") as status:
        result = run_demo(directory, cases=cases, seed=seed, step=lambda msg: status.update(msg))
    if as_json:
        print_json(result.as_json())
        return
    steps = result.steps
    imp, ext, agr = steps["import"], steps["extract"], steps["agreement"]["macro"]
    table = Table(title="radcurate demo", show_header=False)
    table.add_row("phantom", f"{steps['phantom'].get('cases')} cases in {result.cohort}")
    new = imp["imported"]
    table.add_row(
        "import",
        f"{new['studies']} studies, {new['series']} series, {new['reports']} reports new; "
        f"{imp['unchanged']} unchanged; {len(imp['quarantined'])} quarantined",
    )
    table.add_row("extract (rules)", f"{ext['labelled']} reports labelled, {ext['skipped']} already done")
    table.add_row(
        "agreement vs report truth",
        f"macro F1 {agr['f1']:.3f}, κ {agr['kappa']:.3f}" if agr.get("f1") is not None else "n/a",
    )
    review = steps["review"]
    table.add_row(
        "scripted review",
        f"{len(review['newly_reviewed'])} cases confirmed by {review['reader']}, "
        f"{review['decisions']} decisions in the audit trail",
    )
    pre = steps["preprocess"]
    table.add_row("preprocess", pre.get("skipped") or f"series {pre['series']} → {tuple(pre['shape'])}")
    console.print(table)
    console.print(f"next: radcurate review {result.project}", soft_wrap=True)
