"""PACS on the command line: ``radcurate import DIR <PACS URL>`` (routed here by ingest_commands),
``radcurate pacs-query DIR URL`` (what an import would fetch, fetching nothing) and
``radcurate pacs-import DIR --url URL ... --job ID`` (the same import as a background job: what the
desktop's File ▸ Import from PACS… starts through ``Project.start_pacs_import``).

Progress: one bar for the run (series M of N) and, while a series arrives, one bar for it
(instances received of those the PACS announced); retries and failures print one line each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from radcurate.engine.cli.app import app, console, err_console, print_json, progress_bar

PACS_URLS = """PACS URLs: dicomweb+https://HOST/dicom-web (QIDO-RS + WADO-RS) or dimse://AET@HOST:PORT \
(C-FIND + C-GET/C-MOVE; our AE title, retrieve mode and C-MOVE port are [pacs] settings in radcurate.toml). \
DICOMweb credentials: RADCURATE_PACS_USER + RADCURATE_PACS_PASSWORD, or RADCURATE_PACS_TOKEN, or a netrc \
file; never on the command line. See docs/pacs.md."""


class _Bars:
    """Rich bars fed by the engine's FetchEvents (overall + the series in flight)."""

    def __init__(self) -> None:
        self.bar = progress_bar(elapsed=False, remaining=True)  # the import command's bar
        self.overall: Any = None
        self.current: Any = None

    def __enter__(self) -> _Bars:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def __call__(self, event: Any) -> None:
        kind, series = event.kind, event.series
        if kind == "found":
            self.overall = self.bar.add_task("series", total=event.total)
        elif kind == "start":
            if self.current is None:
                name = (series.description or series.modality or "series")[:28]
                self.current = self.bar.add_task(
                    f"  {series.accession or series.study_uid[-12:]} {name}", total=event.expected
                )
            self.bar.update(self.current, completed=0, total=event.expected)
        elif kind == "instance" and self.current is not None:
            self.bar.update(self.current, completed=event.received)
        elif kind == "retry":
            self.bar.console.print(f"retrying: {event.message}", markup=False, highlight=False, soft_wrap=True)
        elif kind in ("fetched", "reused", "failed"):
            if self.current is not None:
                self.bar.remove_task(self.current)
                self.current = None
            if kind == "failed":
                self.bar.console.print(f"failed: {event.message}", markup=False, highlight=False, soft_wrap=True)
            if self.overall is not None:
                self.bar.update(self.overall, completed=event.index)
        elif kind == "importing" and self.overall is not None:
            self.bar.update(self.overall, description=f"series (importing {event.total})")


def import_from_pacs(
    directory: Path,
    url: str,
    *,
    studies: list[str],
    query: str | None,
    reports: list[Path],
    id_column: str | None,
    text_column: str | None,
    as_json: bool,
) -> None:
    """``radcurate import DIR URL``: fetch, import, print the summary; exit 1 if the PACS went away."""
    from radcurate.engine.project import Project

    options: dict[str, Any] = {
        "studies": studies,
        "query": query,
        "reports": reports,
        "id_column": id_column,
        "text_column": text_column,
    }
    with Project.open(directory) as project:
        if console.is_terminal and not as_json:
            with _Bars() as bars:
                summary = project.import_from_pacs(url, progress=bars, **options)
        else:
            summary = project.import_from_pacs(url, **options)
    if as_json:
        print_json(summary.as_json())
    else:
        console.print(summary.line(), highlight=False, soft_wrap=True, markup=False)
        if summary.failed or summary.imported.quarantined:
            console.print(f"see: radcurate quarantine {directory}", highlight=False, soft_wrap=True)
    if summary.stopped:
        if as_json:
            err_console.print(f"stopped: {summary.stopped}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


PACS_QUERY_HELP = f"""List the series a PACS holds for a query, fetching nothing: checks the address, the AE \
titles and the credentials before an import.

{PACS_URLS}

Examples:

  radcurate pacs-query ~/ct dicomweb+https://pacs.example.org/dicom-web --query "AccessionNumber=A123*"

  radcurate pacs-query ~/ct dimse://PACS@10.0.0.5:104 --study 1.2.840.113619.2.55.3 --json
"""


@app.command("pacs-query", help=PACS_QUERY_HELP)
def pacs_query(
    directory: Path = typer.Argument(..., help="Project folder (its [pacs] settings: AE titles, timeouts)."),
    url: str = typer.Argument(..., help="dicomweb+https://HOST/dicom-web or dimse://AET@HOST:PORT"),
    study: Optional[list[str]] = typer.Option(None, "--study", help="StudyInstanceUID; repeatable."),  # noqa: UP045
    query: Optional[str] = typer.Option(  # noqa: UP045
        None, "--query", help='Study filters, e.g. "ModalitiesInStudy=CT&StudyDate=20240101-20240131".'
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table."),
) -> None:
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        found = project.query_pacs(url, studies=study or [], query=query)
    if as_json:
        print_json([s.as_json() for s in found])
        return
    for s in found:
        count = "?" if s.instances is None else str(s.instances)
        console.print(
            f"{s.study_date:<8} {s.accession or '-':<14} {s.modality:<4} {count:>5}  {s.description or '-'}"
            f"  {s.series_uid}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    studies = len({s.study_uid for s in found})
    console.print(f"{studies} studies, {len(found)} series", highlight=False)


@app.command("pacs-import")
def pacs_import(
    directory: Path = typer.Argument(..., help="Project folder."),
    url: str = typer.Option(..., "--url", help="dicomweb+https://HOST/dicom-web or dimse://AET@HOST:PORT"),
    studies: Optional[str] = typer.Option(  # noqa: UP045
        None, "--studies", help="StudyInstanceUIDs separated by spaces or commas."
    ),
    query: Optional[str] = typer.Option(None, "--query", help="Study filters, as for import."),  # noqa: UP045
    job: Optional[int] = typer.Option(None, "--job", help="Claim this queued job (used by background jobs)."),  # noqa: UP045
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of a summary."),
) -> None:
    """Import from a PACS as a job (progress and cancel in `radcurate jobs`); `radcurate import DIR URL` is the
    interactive form. A cancelled or interrupted job resumes where it stopped: completed series are not fetched again.

    Example: radcurate pacs-import ~/ct --url dimse://PACS@10.0.0.5:104 --query "StudyDate=20240101-20240107"
    """
    from radcurate.engine.jobs import records
    from radcurate.engine.project import Project

    uids = [u for u in (studies or "").replace(",", " ").split() if u]
    params = {"url": url, "studies": " ".join(uids) or None, "query": query}
    with Project.open(directory) as project, records.running(project.db, "pacs-import", params, job_id=job) as handle:
        last: dict[str, Any] = {}

        def progress(event: Any) -> None:
            if event.kind in ("fetched", "reused", "failed", "found"):
                name = event.series.series_uid if event.series is not None else ""
                last.update(progress=event.index, total=event.total)
                handle.update(event.index, event.total, f"{event.kind} {name}".strip())
                handle.check_cancel()  # between series: a cancelled job keeps what it fetched

        summary = project.import_from_pacs(url, studies=uids, query=query, progress=progress)
        # forced: the last series' update may have been throttled away (updates at most every 0.25 s)
        handle.update(last.get("progress"), last.get("total"), summary.line(), force=True)
        if summary.stopped:
            handle.finish("failed", summary.stopped)
    if as_json:
        print_json(summary.as_json())
    else:
        console.print(summary.line(), highlight=False, soft_wrap=True, markup=False)
    if summary.stopped:
        raise typer.Exit(1)
