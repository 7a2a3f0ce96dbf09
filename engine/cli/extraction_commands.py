"""``extract``, ``import-labels``, ``agreement``, ``jobs``, ``cancel``: silver labels and the jobs that make them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from radcurate.engine.cli.app import app, console, print_json, progress_bar, sigterm_as_interrupt

JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


@app.command()
def extract(
    directory: Path = typer.Argument(..., help="Project folder."),
    extractor: str = typer.Option(
        "",
        "--extractor",
        help="Extractor plugin: rules (offline) or llm. Default: the project's extraction.extractor setting.",
    ),
    model: Optional[str] = typer.Option(None, "--model", help="LLM model name (default: llm.model)."),  # noqa: UP045
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint URL."),  # noqa: UP045
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="LLM requests in flight."),  # noqa: UP045
    timeout: Optional[float] = typer.Option(None, "--timeout", help="LLM per-request timeout, seconds."),  # noqa: UP045
    max_retries: Optional[int] = typer.Option(None, "--max-retries", help="LLM client retries."),  # noqa: UP045
    price_input: Optional[float] = typer.Option(  # noqa: UP045
        None, "--price-input", help="USD per million input tokens (default: llm.price_input_per_mtok)."
    ),
    price_output: Optional[float] = typer.Option(  # noqa: UP045
        None, "--price-output", help="USD per million output tokens (default: llm.price_output_per_mtok)."
    ),
    source: Optional[str] = typer.Option(  # noqa: UP045
        None, "--source", help="Label source name (default: 'rules', or 'llm:<model>')."
    ),
    limit: Optional[int] = typer.Option(None, "--limit", help="Label at most N pending reports."),  # noqa: UP045
    dry_run: bool = typer.Option(False, "--dry-run", help="Estimate tokens and cost; send nothing."),
    batch: bool = typer.Option(False, "--batch", help="Use the Batch API (for 50k+ reports; answers in hours)."),
    refresh: bool = typer.Option(
        False, "--refresh", help="Label every report again and re-ask the endpoint instead of its cache."
    ),
    send_raw: bool = typer.Option(
        False, "--send-raw", help="Send report text unscrubbed to a remote endpoint (PHI guard off; recorded)."
    ),
    phi_guard: str = typer.Option(
        "auto", "--phi-guard", help="auto: scrub unless the endpoint is on this machine; always; off."
    ),
    conventions: Optional[str] = typer.Option(  # noqa: UP045
        None,
        "--conventions",
        help="Label conventions: clinical (what a radiologist means) or ctrate (CT-RATE's annotators' habits). "
        "Default: extraction.conventions. A non-default one labels into its own source (rules:ctrate).",
    ),
    job: Optional[int] = typer.Option(None, "--job", help="Claim this queued job (used by background jobs)."),  # noqa: UP045
    as_json: bool = JSON_OPT,
) -> None:
    """Label reports with an extractor, as a resumable job (a rerun skips labelled reports).

    The LLM extractor reads its API key from the environment variable named by llm.api_key_env.

    Example: radcurate extract ~/ct-project --extractor llm --model gpt-4o-mini --dry-run
    Example: radcurate extract ~/ct-project --conventions ctrate
    """
    from radcurate.engine.extraction import runner
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        name = extractor or project.settings.extraction.extractor
        overrides = {
            "model": model,
            "base_url": base_url,
            "concurrency": concurrency,
            "timeout_s": timeout,
            "max_retries": max_retries,
            "price_input_per_mtok": price_input,
            "price_output_per_mtok": price_output,
        }
        if name != "llm" and any(v is not None for v in overrides.values()):
            raise typer.BadParameter(
                "--model/--base-url/--concurrency/--timeout/--max-retries/--price-* are options of --extractor llm"
            )
        if conventions is not None:
            from radcurate.engine.settings import LABEL_CONVENTIONS

            if conventions not in LABEL_CONVENTIONS:
                raise typer.BadParameter(f"--conventions must be one of: {', '.join(LABEL_CONVENTIONS)}")
        plugin = runner.make_extractor(project, name, **overrides, conventions=conventions)
        if dry_run:
            guard = "off" if send_raw else phi_guard
            _print_estimate(runner.estimate(project, plugin, source=source, limit=limit, phi_guard=guard), as_json)
            return
        params = {
            "extractor": name,
            "source": source,
            "limit": limit,
            "batch": batch,
            "refresh": refresh,
            **({"conventions": conventions} if conventions is not None else {}),
            **{
                k: v
                for k, v in {
                    "model": model,
                    "base_url": _public(base_url),
                    "concurrency": concurrency,
                    "timeout": timeout,
                    "max_retries": max_retries,
                    "price_input": price_input,
                    "price_output": price_output,
                }.items()
                if v is not None
            },
        }
        sigterm_as_interrupt()
        run = {
            "source": source,
            "limit": limit,
            "batch": batch,
            "job_id": job,
            "params": params,
            "refresh": refresh,
            "phi_guard": "off" if send_raw else phi_guard,
        }
        if as_json:
            summary = runner.run_extraction(project, plugin, **run)
            project.refresh_priorities()  # the labels changed: store the studies' review priorities
            print_json(summary.as_json())
            return
        with progress_bar(remaining=True, note=True) as bar:
            task = bar.add_task(f"extract ({name})", total=None, note="")

            def on_progress(done: int, total: int, message: str) -> None:
                parts = message.split(", ")[1:]  # "Q quarantined", "R requests", "C cached", "$X"
                note = ", ".join(p for p in parts if p.endswith("quarantined") or p.startswith("$"))
                bar.update(task, completed=done, total=total or None, note=note)

            summary = runner.run_extraction(project, plugin, on_progress=on_progress, **run)
            bar.update(task, note="storing review priorities")
            project.refresh_priorities()  # the labels changed: store the studies' review priorities
    rate = f", {summary.reports_per_s:.0f} reports/s" if summary.seconds else ""
    cost = (
        f", {summary.requests} requests, {summary.cache_hits} cached, ${summary.cost_usd:.4f}" if summary.model else ""
    )
    console.print(
        f"{summary.status}: job {summary.job}, source {summary.source}: {summary.labelled} labelled, "
        f"{summary.quarantined} quarantined, {summary.skipped} already labelled{cost}{rate}"
    )


def _public(url: str | None) -> str | None:
    from radcurate.engine.extraction.remote import public_url

    return public_url(url) if url else url


def _print_estimate(estimate: Any, as_json: bool) -> None:
    if as_json:
        print_json(estimate.as_json())
        return
    table = Table(title=f"dry run: {estimate.source} (nothing sent)", show_header=False)
    rows = [
        ("reports in project", estimate.reports),
        ("already labelled", estimate.skipped),
        ("to label", estimate.todo),
        ("answers in the cache", estimate.cache_hits),
        ("requests to send", estimate.requests),
        ("input tokens (estimate)", f"{estimate.tokens_in:,}"),
        ("output tokens (estimate)", f"{estimate.tokens_out:,}"),
        ("cost (estimate)", f"${estimate.cost_usd:.4f}"),
        ("token estimate", estimate.token_estimate),
    ]
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)


@app.command("import-labels")
def import_labels(
    directory: Path = typer.Argument(..., help="Project folder."),
    file: Path = typer.Argument(..., help="CSV/TSV: an id column and one column per finding."),
    source: str = typer.Option(..., "--source", help="Name of the reference label source, e.g. ctrate."),
    id_column: Optional[str] = typer.Option(  # noqa: UP045
        None, "--id-column", help="Column with study ids (default: study_id, AccessionNo or id, else the first column)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Import another labeller's labels (binary 0/1, four states, or CheXpert 1/0/-1/empty) as a reference.

    Example: radcurate import-labels ~/ct-project reports_labels.csv --source ctrate --id-column AccessionNo
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        summary = project.import_labels(file, source=source, id_column=id_column)
    if as_json:
        print_json(summary.as_json())
        return
    console.print(
        f"imported {summary.imported} of {summary.rows} rows as {summary.source} "
        f"({len(summary.findings)} findings); {summary.quarantined} quarantined"
    )


@app.command()
def agreement(
    directory: Path = typer.Argument(..., help="Project folder."),
    reference: str = typer.Option(
        ..., "--reference", help="Reference label source (e.g. one from import-labels), or reader:NAME."
    ),
    candidate: Optional[str] = typer.Option(  # noqa: UP045
        None, "--candidate", help="Source to score (default: the most recently run extractor)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Per-finding precision, recall, F1 and Cohen's kappa of a label source against a reference.

    present → 1, everything else → 0.
    Readers against each other: --reference reader:A --candidate reader:B (studies both decided).
    Example: radcurate agreement ~/ct-project --reference ctrate --candidate rules --json
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        result = project.agreement(reference, candidate)
    data = result.as_json()
    if as_json:
        print_json(data)
        return
    table = Table(
        "finding",
        "precision",
        "recall",
        "F1",
        "kappa",
        "support",
        title=f"{data['candidate']} vs {data['reference']} ({data['studies']} studies)",
    )

    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    for name, f in data["findings"].items():
        table.add_row(name, fmt(f["precision"]), fmt(f["recall"]), fmt(f["f1"]), fmt(f["kappa"]), str(f["support"]))
    m = data["macro"]
    table.add_row("[bold]macro[/]", fmt(m["precision"]), fmt(m["recall"]), fmt(m["f1"]), fmt(m["kappa"]), "")
    console.print(table)


@app.command()
def jobs(
    directory: Path = typer.Argument(..., help="Project folder."),
    as_json: bool = JSON_OPT,
) -> None:
    """List jobs, newest first (a job whose process died shows as interrupted).

    Example: radcurate jobs ~/ct-project --json
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        found = project.jobs()
    if as_json:
        print_json([j.as_json() for j in found])
        return
    table = Table("id", "kind", "status", "progress", "message", "started", "finished")
    for j in found:
        progress = f"{j.progress}/{j.total}" if j.total is not None else str(j.progress)
        table.add_row(
            str(j.id),
            j.kind,
            j.status,
            progress,
            j.error or j.message or "",
            (j.started_at or "")[:19],
            (j.finished_at or "")[:19],
        )
    console.print(table)


@app.command()
def cancel(
    directory: Path = typer.Argument(..., help="Project folder."),
    job: int = typer.Argument(..., help="Job id (see `radcurate jobs`)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Ask a job to stop; it stops at its next safe point and keeps what it committed.

    Example: radcurate cancel ~/ct-project 3
    """
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        found = project.cancel_job(job)
    if as_json:
        print_json(found.as_json())
        return
    state = found.status if found.finished else f"{found.status}, cancel requested"
    console.print(f"job {found.id} ({found.kind}): {state}")
