"""``init``, ``status``, ``decide``, ``history``, ``plugins``: the project's basic commands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from radcurate.engine.cli.app import app, console, print_json

JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


@app.command()
def init(
    directory: Path = typer.Argument(..., help="Folder for the new project (created if missing)."),
    vocabulary: Optional[Path] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.11
        None, "--vocabulary", help="Findings list: a text file (one a line) or TOML (findings = [...])."
    ),
    preset: str = typer.Option(
        "paper", "--preset", help="Settings preset: 'paper' (DESIGN values) or 'demo' (CPU-sized)."
    ),
) -> None:
    """Create a project folder.

    Example: radcurate init ~/ct-project --preset demo
    """
    from radcurate.engine.project import Project
    from radcurate.engine.vocabulary import Vocabulary

    vocab = Vocabulary.load(vocabulary) if vocabulary else None
    project = Project.create(directory, vocabulary=vocab, preset=preset)
    console.print(f"created project {project.path} ({len(project.vocabulary)} findings, preset {preset})")


@app.command()
def status(
    directory: Path = typer.Argument(..., help="Project folder."),
    as_json: bool = JSON_OPT,
) -> None:
    """Show what a project holds.

    Example: radcurate status ~/ct-project --json
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        counts = project.status()
        if not as_json and counts["unresolved"]:
            from radcurate.engine.review.consensus import unresolved

            disagreements = unresolved(project.db)
    if as_json:
        print_json(counts)
        return
    table = Table(title=f"radcurate project {counts['path']}", show_header=False)
    for key in ("studies", "series", "reports", "decisions", "reviewed_studies", "quarantined", "models", "jobs"):
        table.add_row(key.replace("_", " "), str(counts[key]))
    for source, n in counts["labels"].items():
        table.add_row(f"labels: {source}", str(n))
    stale = counts["stale"]
    if stale["labels"] or stale["decisions"]:
        table.add_row("stale (report text changed)", f"{stale['labels']} labels, {stale['decisions']} decisions")
    if counts["unresolved"]:
        table.add_row("unresolved disagreements", str(counts["unresolved"]))
    console.print(table)
    if counts["unresolved"]:
        shown = 20
        for label in disagreements[:shown]:
            who = ", ".join(f"{r} {s}" for r, s in sorted(label.readers.items()))
            console.print(f"  unresolved: {label.study_id} / {label.finding}: {who}", highlight=False)
        more = f"{len(disagreements) - shown} more; " if len(disagreements) > shown else ""
        console.print(f"  {more}settle with: radcurate adjudicate DIR STUDY FINDING STATE --reader R", highlight=False)


@app.command()
def plugins(as_json: bool = JSON_OPT) -> None:
    """List installed plugins (built-in and third-party) and whether each loads.

    Example: radcurate plugins --json
    """
    from radcurate.engine.contracts.plugins import discover

    found = discover()
    if as_json:
        print_json([p.as_json() for p in found])
        return
    table = Table("group", "name", "status", "target / reason")
    for p in found:
        info = p.as_json()
        status_text = "[green]ok[/]" if p.ok else "[red]broken[/]"
        table.add_row(info["group"], p.name, status_text, p.reason or p.target)
    console.print(table)


@app.command()
def decide(
    directory: Path = typer.Argument(..., help="Project folder."),
    study: str = typer.Argument(..., help="Study id."),
    finding: str = typer.Argument(..., help="Finding name (case-insensitive), e.g. 'Pleural effusion'."),
    state: str = typer.Argument(..., help="present | absent | uncertain | not_mentioned"),
    reader: str = typer.Option(..., "--reader", help="Who decides (stamped on the audit trail)."),
    note: Optional[str] = typer.Option(None, "--note", help="Free-text note kept with the decision."),  # noqa: UP045
    as_json: bool = JSON_OPT,
) -> None:
    """Record a reader's decision for one finding of one study (append-only, audited).

    Example: radcurate decide ~/ct-project case_0001 "Pleural effusion" present --reader dr_a
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        decision = project.decide(study, finding, state, reader=reader, note=note)
    if as_json:
        print_json(decision.as_json())
    else:
        prev = decision.previous_state.value if decision.previous_state else "undecided"
        console.print(f"saved #{decision.id}: {study} / {decision.finding}: {prev} → {decision.state} ({reader})")


@app.command()
def history(
    directory: Path = typer.Argument(..., help="Project folder."),
    study: Optional[str] = typer.Argument(None, help="Only this study."),  # noqa: UP045
    reader: Optional[str] = typer.Option(None, "--reader", help="Only this reader."),  # noqa: UP045
    as_json: bool = JSON_OPT,
) -> None:
    """Show the audit trail of decisions, oldest first.

    Example: radcurate history ~/ct-project case_0001 --json
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        trail = project.history(study, reader)
    if as_json:
        print_json([d.as_json() for d in trail])
        return
    table = Table("#", "time", "reader", "study", "finding", "change", "kind", "note", "report")
    for d in trail:
        prev = d.previous_state.value if d.previous_state else "—"
        new = d.state.value if d.state else "undecided"
        report = "[yellow]stale[/]" if d.stale else (d.report_sha256 or "—")[:8]
        table.add_row(
            str(d.id),
            d.decided_at[:19],
            d.reader,
            d.study_id,
            d.finding,
            f"{prev} → {new}",
            d.kind,
            d.note or "",
            report,
        )
    console.print(table)
    stale = sum(d.stale for d in trail)
    console.print(
        f"{len(trail)} decisions" + (f", {stale} stale (made against an earlier report text)" if stale else "")
    )
