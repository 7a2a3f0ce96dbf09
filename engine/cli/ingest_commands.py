"""``import`` and ``quarantine``: bringing volumes and reports into a project, and what was refused."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Optional

import typer

from radcurate.engine.cli.app import app, console, print_json, progress_bar

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

From a PACS (fetched into the project's cache/pacs/, then imported like a folder; a rerun fetches \
only what is missing): PATH is one URL, dicomweb+https://HOST/dicom-web (QIDO-RS + WADO-RS) or \
dimse://AET@HOST:PORT (C-FIND + C-GET/C-MOVE, AE titles in [pacs] settings), with --study UID \
and/or --query FILTERS. DICOMweb credentials come from RADCURATE_PACS_USER + RADCURATE_PACS_PASSWORD \
(or RADCURATE_PACS_TOKEN, or a netrc file), never from the command line. See docs/pacs.md.

  radcurate import ~/ct dicomweb+https://pacs.example.org/dicom-web --query "ModalitiesInStudy=CT&StudyDate=20240101-"

  radcurate import ~/ct-project dimse://PACS@10.0.0.5:104 --study 1.2.840.113619.2.55.3.604688 --reports reports.csv
"""


@app.command("import", help=IMPORT_HELP)
def import_(
    directory: Path = typer.Argument(..., help="Project folder."),
    paths: Optional[list[str]] = typer.Argument(  # noqa: UP045 - typer needs Optional on 3.11
        None, help="Files or folders with volumes (and optionally report tables), or one PACS URL."
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
    study: Optional[list[str]] = typer.Option(  # noqa: UP045
        None, "--study", help="PACS only: a StudyInstanceUID to import; repeatable."
    ),
    query: Optional[str] = typer.Option(  # noqa: UP045
        None, "--query", help='PACS only: study filters, e.g. "ModalitiesInStudy=CT&StudyDate=20240101-20240131".'
    ),
    as_json: bool = JSON_OPT,
) -> None:
    from radcurate.engine.cli import pacs_commands
    from radcurate.engine.errors import InputError
    from radcurate.engine.ingest.pacs.address import is_pacs_url
    from radcurate.engine.project import Project

    urls = [p for p in paths or [] if is_pacs_url(p)]
    if urls:
        if len(urls) != len(paths or []) or len(urls) > 1:
            raise InputError("give one PACS URL, or files and folders, not both", field="PATH")
        pacs_commands.import_from_pacs(
            directory,
            urls[0],
            studies=study or [],
            query=query,
            reports=reports or [],
            id_column=id_column,
            text_column=text_column,
            as_json=as_json,
        )
        return
    if study or query:
        raise InputError("--study and --query select studies on a PACS: give a PACS URL as PATH", field="--query")
    with Project.open(directory) as project:
        options = {"reports": reports or [], "id_column": id_column, "text_column": text_column}
        if console.is_terminal and not as_json:
            with progress_bar(elapsed=False, remaining=True) as bar:
                tasks: dict[str, int] = {}

                def progress(phase: str, done: int, total: int | None) -> None:
                    if phase not in tasks:
                        tasks[phase] = bar.add_task(phase, total=total)
                    bar.update(tasks[phase], completed=done, total=total)

                summary = project.import_paths([Path(p) for p in paths or []], progress=progress, **options)
        else:
            summary = project.import_paths([Path(p) for p in paths or []], **options)
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
