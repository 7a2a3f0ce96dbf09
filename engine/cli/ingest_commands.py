"""``import`` and ``quarantine``: bringing volumes and reports into a project, and what was refused."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Optional

import typer

from radcurate.engine.cli.app import app, console, print_json

JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON instead of a summary.")

IMPORT_HELP = """Import CT volumes (DICOM series, NIfTI) and reports into a project.

PATH may be files or folders (walked recursively). Every file is offered to the loader plugins \
(`radcurate plugins`); DICOM files are recognised by content, whatever their names.

Reports: --reports takes a CSV/TSV (RFC 4180, UTF-8), a JSONL file, or a folder of .txt files \
(study id = file stem). The id column is --id-column or the first of study_id / AccessionNo / id; \
the text column is --text-column or the first of report_text / report / text. A CSV/TSV/JSONL \
found under PATH with such columns is imported as reports too, so `radcurate import DIR cohort/` \
takes a phantom cohort's reports.csv; tables without them (e.g. truth.csv) are ignored with a note.

Ignored, not quarantined: hidden files, DICOMDIR, and documentation/side files no loader claims \
(LICENSE, README, *.txt, *.md, *.json, ...). Any other file no loader claims, every unreadable \
volume and every bad report row is quarantined with its file, field and reason, and the rest of \
the batch goes on (see `radcurate quarantine DIR`). Re-importing the same files or report texts \
is a cheap no-op, counted as unchanged.

Examples:

  radcurate import ~/ct-project /data/ct --reports /data/reports.csv

  radcurate import ~/ct-project /tmp/ph --json
"""


def _progress_bar():  # -> rich Progress, built lazily so `--help` stays fast
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


@app.command("import", help=IMPORT_HELP)
def import_(
    directory: Path = typer.Argument(..., help="Project folder."),
    paths: Optional[list[Path]] = typer.Argument(  # noqa: UP045 - typer needs Optional on 3.11
        None, help="Files or folders with volumes (and optionally report tables)."
    ),
    reports: Optional[list[Path]] = typer.Option(  # noqa: UP045
        None, "--reports", help="Report file (CSV/TSV/JSONL) or folder of .txt reports; repeatable."
    ),
    id_column: Optional[str] = typer.Option(  # noqa: UP045
        None, "--id-column", help="Report column/key with the study id (default: auto-detect)."
    ),
    text_column: Optional[str] = typer.Option(  # noqa: UP045
        None, "--text-column", help="Report column/key with the report text (default: auto-detect)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        options = {"reports": reports or [], "id_column": id_column, "text_column": text_column}
        if console.is_terminal and not as_json:
            with _progress_bar() as bar:
                tasks: dict[str, int] = {}

                def progress(phase: str, done: int, total: int | None) -> None:
                    if phase not in tasks:
                        tasks[phase] = bar.add_task(phase, total=total)
                    bar.update(tasks[phase], completed=done, total=total)

                summary = project.import_paths(paths or [], progress=progress, **options)
        else:
            summary = project.import_paths(paths or [], **options)
    if as_json:
        print_json(summary.as_json())
        return
    console.print(summary.line(), highlight=False, soft_wrap=True)
    if summary.quarantined:
        console.print(f"see: radcurate quarantine {directory}", highlight=False, soft_wrap=True)


@app.command("quarantine")
def quarantine_(
    directory: Path = typer.Argument(..., help="Project folder."),
    stage: Optional[str] = typer.Option(  # noqa: UP045
        None, "--stage", help="Only one stage: import (volumes), reports, extraction, labels..."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """List what imports and jobs refused, with the file, the field and the reason, oldest first.

    Example: radcurate quarantine ~/ct-project --stage import --json
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        records = project.quarantine(stage)
    if as_json:
        print_json([r.as_json() for r in records])
        return
    # One line per problem: records that share stage, field and reason (the files of one refused
    # series) are shown once with their folder and a file count, so a 300-slice series is one line.
    for (stage_, field, reason), group in itertools.groupby(records, key=lambda r: (r.stage, r.field, r.reason)):
        items = list(group)
        where = items[0].path
        if len(items) > 1:
            where = f"{os.path.commonpath([r.path for r in items])} ({len(items)} files)"
        console.print(
            f"{items[0].time[:19]}  {stage_:<8} {where}" + (f" [{field}]" if field else "") + f": {reason}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"{len(records)} quarantined", highlight=False)
