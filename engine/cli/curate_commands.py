"""``worklist``, ``adjudicate``, ``export-dataset``: review the likely errors first, settle readers, hand over."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from radcurate.engine.cli.app import app, console, print_json, progress_bar

JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


@app.command()
def worklist(
    directory: Path = typer.Argument(..., help="Project folder."),
    reader: Optional[str] = typer.Option(  # noqa: UP045
        None, "--reader", help="Whose finished studies drop down (default: studies any reader finished)."
    ),
    limit: Optional[int] = typer.Option(None, "--limit", help="Show the first N studies."),  # noqa: UP045
    as_json: bool = JSON_OPT,
) -> None:
    """Studies in review order: the silver labels most likely wrong first, each with its reasons.

    Priority comes from disagreement between the silver label and the model's score (and the CLIP
    zero-shot score), between two extractors, and from uncertain states and flagged quotes.

    Example: radcurate worklist ~/ct-project --limit 20 --json
    """
    from radcurate.engine.errors import InputError
    from radcurate.engine.project import Project

    if limit is not None and limit < 0:
        raise InputError("--limit must be zero or more", field="limit")
    with Project.open(directory) as project:
        rows = project.ranked_worklist(reader=reader, limit=limit)  # stored priorities: an indexed read
    if as_json:
        print_json([r.as_json() for r in rows])
        return
    table = Table("#", "study", "priority", "why", title="worklist (most likely silver errors first)")
    for i, r in enumerate(rows, start=1):
        why = "; ".join(reason.text() for reason in r.reasons[:3]) + (" …" if len(r.reasons) > 3 else "")
        table.add_row(str(i), r.study_id, "reviewed" if r.reviewed else f"{r.priority:.2f}", why)
    console.print(table)


@app.command()
def adjudicate(
    directory: Path = typer.Argument(..., help="Project folder."),
    study: str = typer.Argument(..., help="Study id."),
    finding: str = typer.Argument(..., help="Finding name (case-insensitive), e.g. 'Pleural effusion'."),
    state: str = typer.Argument(..., help="present | absent | uncertain | not_mentioned"),
    reader: str = typer.Option(..., "--reader", help="The adjudicator (stamped on the audit trail)."),
    note: Optional[str] = typer.Option(None, "--note", help="Why (kept with the decision)."),  # noqa: UP045
    as_json: bool = JSON_OPT,
) -> None:
    """Record an adjudicator's decision: it becomes the project's gold for that finding, whatever readers said.

    Example: radcurate adjudicate ~/ct-project case_0001 "Lung nodule" present --reader dr_chief
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        decision = project.adjudicate(study, finding, state, reader=reader, note=note)
    if as_json:
        print_json(decision.as_json())
    else:
        console.print(f"adjudicated #{decision.id}: {study} / {decision.finding}: {decision.state} ({reader})")


@app.command("export-dataset")
def export_dataset(
    directory: Path = typer.Argument(..., help="Project folder."),
    out: Path = typer.Argument(..., help="New (or empty) folder for the dataset."),
    format: str = typer.Option("nifti", "--format", help="Volumes as nifti or (de-identified) dicom."),
    splits: Optional[str] = typer.Option(  # noqa: UP045
        None,
        "--splits",
        help="Training, validation, test fractions by patient, e.g. 0.8,0.1,0.1 (default: keep the split "
        "training recorded, drawing only studies it lacks, else 0.8,0.1,0.1).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the patient-level split."),
    deidentify: bool = typer.Option(
        True, "--deidentify/--no-deidentify", help="Pseudonymise ids, scrub reports, de-identify DICOM (default on)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing dataset in OUT."),
    exporter: str = typer.Option("dataset", "--exporter", help="Exporter plugin (radcurate.exporters)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Write the curated dataset: labels with provenance, patient-level splits, volumes, reports,
    CSV/JSONL tables, a MONAI datalist, a manifest with sha256 of every file and a datasheet.

    Example: radcurate export-dataset ~/ct-project ~/datasets/chest-ct-v1 --format dicom --seed 7
    """
    from radcurate.engine.contracts import plugins
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        plugin = plugins.create("exporters", exporter)
        options = {"format": format, "splits": splits, "seed": seed, "deidentify": deidentify, "overwrite": overwrite}
        if as_json:
            summary = plugin.export(project, out, options)
        else:
            with progress_bar() as bar:
                task = bar.add_task("export", total=None)
                summary = plugin.export(
                    project, out, {**options, "progress": lambda d, t: bar.update(task, completed=d, total=t)}
                )
    if as_json:
        print_json(summary)
        return
    counts = summary.get("counts", {})
    split_text = ", ".join(f"{k} {v}" for k, v in counts.get("splits", {}).items())
    deid = "de-identified" if summary.get("deidentified") else "NOT de-identified"
    console.print(
        f"exported {counts.get('studies', '?')} studies of {counts.get('patients', '?')} patients to "
        f"{summary.get('out', out)} ({split_text}; {deid})"
    )
