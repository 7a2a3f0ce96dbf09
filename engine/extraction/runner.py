"""Running an extractor over a project's reports as a job: resumable, one transaction per commit.

Which reports: every report not yet fully labelled by this *source* with this extractor *version*
and *prompt hash* since the report was last imported — so a rerun picks up exactly where a killed
run stopped, and a new prompt or version relabels everything. ``limit`` caps the reports taken in
one run.

Two paths:

* an offline extractor (``rules``) runs in this process, or in a process pool across the cores
  for big runs (:mod:`.local_pool`); labels are committed every few hundred reports or quarter
  second, each report's labels whole;
* a :class:`~radcurate.engine.extraction.remote.RemoteExtractor` (``llm``) goes through the cache
  and concurrent requests (:mod:`.remote`), or the Batch API (:mod:`.batch`).

Either way a report the extractor cannot label goes to quarantine (stage ``extraction``) with
the reason, and the rest go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from radcurate.engine.contracts import plugins
from radcurate.engine.errors import InputError
from radcurate.engine.extraction.local_pool import label_reports
from radcurate.engine.extraction.outcomes import store_packed_outcomes
from radcurate.engine.extraction.phi_guard import report_scrubber, should_scrub
from radcurate.engine.extraction.remote import RemoteExtractor, RemoteRun, group_reports, run_online
from radcurate.engine.extraction.summary import CostEstimate, ExtractionSummary
from radcurate.engine.jobs import records as jobs
from radcurate.engine.store import labels as label_store
from radcurate.engine.store import llm_cache, studies
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.store.label_sets import PackedSet
from radcurate.engine.vocabulary import Vocabulary

ProgressCallback = Callable[[int, int, str], None]
COMMIT_EVERY_REPORTS = 500
COMMIT_EVERY_S = 0.25


def make_extractor(project: Any, name: str, **overrides: Any) -> Any:
    """Build extractor ``name`` from the project's settings, with command-line overrides.

    ``llm`` takes the ``[llm]`` table of ``radcurate.toml``; ``rules`` the synonym file of
    ``[extraction]`` (relative to the project). Both take the label conventions of
    ``[extraction] conventions``. ``None`` overrides are ignored.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if name in ("rules", "llm"):
        given.setdefault("conventions", project.settings.extraction.conventions)
    if name == "llm":
        llm = project.settings.llm
        options = {
            "model": llm.model,
            "base_url": llm.base_url,
            "api_key_env": llm.api_key_env,
            "price_input_per_mtok": llm.price_input_per_mtok,
            "price_output_per_mtok": llm.price_output_per_mtok,
            "concurrency": llm.concurrency,
            "timeout_s": llm.timeout_s,
            "max_retries": llm.max_retries,
        }
        return plugins.create("extractors", "llm", **{**options, **given})
    if name == "rules" and project.settings.extraction.synonyms and "synonyms" not in given:
        given["synonyms"] = str(Path(project.path) / project.settings.extraction.synonyms)
    return plugins.create("extractors", name, **given)


def source_name(extractor: Any) -> str:
    return str(getattr(extractor, "source_name", None) or extractor.name)


def _prompt_hash(extractor: Any, vocabulary: Vocabulary) -> str | None:
    return extractor.prompt_hash(vocabulary) if isinstance(extractor, RemoteExtractor) else None


def _details(extractor: Any, vocabulary: Vocabulary) -> dict[str, Any]:
    details = getattr(extractor, "details", None)
    return dict(details(vocabulary)) if callable(details) else {}


def pending_reports(
    db: Any, extractor: Any, vocabulary: Vocabulary, source: str, limit: int | None = None, *, refresh: bool = False
) -> tuple[int, int, list[studies.Report]]:
    """(reports in the project, reports already labelled, the reports this run would label in import order).

    ``refresh`` labels every report again (and asks a remote extractor again instead of its cache).
    """
    everything = studies.reports(db)
    done = (
        set()
        if refresh
        else label_store.done_studies(
            db,
            source,
            version=str(extractor.version),
            prompt_hash=_prompt_hash(extractor, vocabulary),
            findings=len(vocabulary),
        )
    )
    todo = [r for r in everything if r.study_id not in done]
    skipped = len(everything) - len(todo)
    if limit is not None:
        if limit < 0:
            raise InputError("--limit must be zero or more", field="limit")
        todo = todo[:limit]
    return len(everything), skipped, todo


def estimate(
    project: Any, extractor: Any, *, source: str | None = None, limit: int | None = None, phi_guard: str = "auto"
) -> CostEstimate:
    """``--dry-run``: what would be sent and what it would cost; nothing is sent or written."""
    vocabulary = project.vocabulary
    source = source or source_name(extractor)
    total, skipped, todo = pending_reports(project.db, extractor, vocabulary, source, limit)
    model = getattr(extractor, "model", None)
    if not isinstance(extractor, RemoteExtractor):
        return CostEstimate(
            source, extractor.name, model, total, skipped, len(todo), 0, 0, 0, 0, 0.0, "none (offline extractor)"
        )
    scrubbing = should_scrub(phi_guard, str(getattr(extractor, "base_url", "")))
    groups = group_reports(todo, extractor, vocabulary, report_scrubber(project.db) if scrubbing else None)
    cached = llm_cache.get_many(project.db, [g.key for g in groups])
    asked = [g.outgoing for g in groups if g.key not in cached]
    t_in, t_out, cost = extractor.estimate(asked, vocabulary)
    return CostEstimate(
        source,
        extractor.name,
        model,
        total,
        skipped,
        len(todo),
        len(cached),
        len(asked),
        t_in,
        t_out,
        cost,
        "characters / 4 (no tokenizer for an arbitrary model offline)",
    )


def _run_local(
    project: Any,
    extractor: Any,
    todo: Sequence[studies.Report],
    source: str,
    job: jobs.JobHandle,
    summary: ExtractionSummary,
    on_progress: ProgressCallback | None,
) -> None:
    db, vocabulary = project.db, project.vocabulary
    version = str(extractor.version)
    labelled: list[PackedSet] = []
    failed: list[tuple[studies.Report, str]] = []
    last = time.monotonic()

    def commit() -> bool:
        with write_transaction(db) as conn:
            store_packed_outcomes(conn, db, source, labelled, failed, extractor_version=version)
            labelled.clear()
            failed.clear()
            return jobs.update(db, job.id, summary.done, summary.todo, summary.message())

    started = time.monotonic()
    for report, (packed, n, flagged, reason) in zip(todo, label_reports(extractor, todo, vocabulary), strict=False):
        if packed is None:
            failed.append((report, reason))
            summary.quarantined += 1
        else:
            labelled.append((report.study_id, report.sha256, packed, n))
            summary.labelled += 1
            summary.flagged += flagged
        now = time.monotonic()
        if len(labelled) + len(failed) >= COMMIT_EVERY_REPORTS or now - last >= COMMIT_EVERY_S:
            last = now
            summary.seconds = now - started
            cancel = commit()
            if on_progress:
                on_progress(summary.done, summary.todo, summary.message())
            if cancel:
                break
    summary.seconds = time.monotonic() - started
    commit()


def run_extraction(
    project: Any,
    extractor: Any,
    *,
    source: str | None = None,
    limit: int | None = None,
    batch: bool = False,
    job_id: int | None = None,
    params: Mapping[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
    refresh: bool = False,
    phi_guard: str = "auto",
) -> ExtractionSummary:
    """Label the project's pending reports with ``extractor`` as a job; returns the run's summary.

    ``params`` is recorded on the job (the command line's options, so the job can be resumed);
    ``job_id`` claims a job made by :func:`radcurate.engine.jobs.records.launch`. The summary's
    ``status`` is ``done`` or ``cancelled``; a failure raises (and the job records it). ``phi_guard``
    (auto | always | off = ``--send-raw``) scrubs report text bound for a remote endpoint (phi_guard.py).
    """
    db, vocabulary = project.db, project.vocabulary
    source = source or source_name(extractor)
    remote = isinstance(extractor, RemoteExtractor)
    if batch and not (remote and hasattr(extractor, "submit_batch")):
        raise InputError(f"extractor {extractor.name!r} has no Batch API path", field="batch")
    job_params = dict(params or {"extractor": extractor.name, "source": source, "limit": limit, "batch": batch})
    scrubbing = remote and should_scrub(phi_guard, str(getattr(extractor, "base_url", "")))
    if remote:  # recorded on the job: raw text was sent only where the user said --send-raw
        job_params.update(
            send_raw=phi_guard == "off" or None, phi_guard=None if phi_guard in ("auto", "off") else phi_guard
        )
    with jobs.running(db, "extract", job_params, job_id=job_id) as job:
        total, skipped, todo = pending_reports(db, extractor, vocabulary, source, limit, refresh=refresh)
        summary = ExtractionSummary(
            job=job.id,
            source=source,
            extractor=extractor.name,
            version=str(extractor.version),
            prompt_hash=_prompt_hash(extractor, vocabulary),
            model=getattr(extractor, "model", None),
            reports=total,
            skipped=skipped,
            todo=len(todo),
        )
        with write_transaction(db) as conn:
            label_store.ensure_source(
                conn,
                source,
                kind="extractor",
                plugin=extractor.name,
                version=str(extractor.version),
                details=_details(extractor, vocabulary),
            )
            jobs.update(db, job.id, 0, len(todo), summary.message())
        if on_progress:
            on_progress(0, len(todo), summary.message())
        if remote:
            scrub = report_scrubber(db) if scrubbing else None
            _run_remote(
                project, extractor, todo, source, job, summary, batch, on_progress, refresh=refresh, scrub=scrub
            )
        else:
            _run_local(project, extractor, todo, source, job, summary, on_progress)
        # A cancel that came after the last item found nothing left to stop: the run is done.
        summary.status = "cancelled" if job.cancel_requested and summary.done < summary.todo else "done"
        jobs.update(db, job.id, summary.done, summary.todo, summary.message())
        if summary.status == "cancelled":
            job.finish("cancelled")
    return summary


def _run_remote(
    project: Any,
    extractor: Any,
    todo: Sequence[studies.Report],
    source: str,
    job: jobs.JobHandle,
    summary: ExtractionSummary,
    batch: bool,
    on_progress: ProgressCallback | None,
    *,
    refresh: bool = False,
    scrub: Callable[[studies.Report], str] | None = None,
) -> None:
    from radcurate.engine.extraction.batch import run_batch

    async def main() -> None:
        run = RemoteRun(project.db, extractor, project.vocabulary, source, job, summary, refresh=refresh)
        if on_progress:
            run.on_commit = lambda: on_progress(summary.done, summary.todo, summary.message())
        groups = group_reports(todo, extractor, project.vocabulary, scrub)
        try:
            if batch:
                await run_batch(run, groups, Path(project.path) / "cache" / "batches")
            else:
                await run_online(run, groups)
        finally:
            run.close()
            await extractor.aclose()

    asyncio.run(main())
