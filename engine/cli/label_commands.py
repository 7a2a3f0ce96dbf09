"""``labels``: every silver label with its provenance, readable without the GUI."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from radcurate.engine.cli.app import app, console, print_json

JSON_OPT = typer.Option(False, "--json", help="Print JSON instead of a table.")


@app.command()
def labels(
    directory: Path = typer.Argument(..., help="Project folder."),
    source: Optional[str] = typer.Option(None, "--source", help="Only this label source."),  # noqa: UP045
    study: Optional[str] = typer.Option(None, "--study", help="Only this study."),  # noqa: UP045
    as_json: bool = JSON_OPT,
) -> None:
    """List silver labels: study, finding, state, source, evidence and offsets, flags, staleness.

    A label is stale when the study's report text changed after it was made: it is kept for the
    record but never shown, trained on or counted as done.

    Example: radcurate labels ~/ct-project --study case_0001 --json
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        found = project.labels(source=source, study_id=study)
    if as_json:
        print_json([lab.as_json() for lab in found])
        return
    table = Table("study", "finding", "state", "source", "evidence", "offsets", "flags", "report")
    for stored in found:
        lab = stored.label
        offsets = f"{lab.start}–{lab.end}" if lab.start is not None else ""
        evidence = (lab.evidence or "")[:60] + ("…" if lab.evidence and len(lab.evidence) > 60 else "")
        report = "[yellow]stale[/]" if stored.stale else "current"
        table.add_row(
            stored.study_id, lab.finding, lab.state.value, stored.source, evidence, offsets, ",".join(lab.flags), report
        )
    console.print(table)
    stale = sum(s.stale for s in found)
    console.print(f"{len(found)} labels" + (f", {stale} stale" if stale else ""))
