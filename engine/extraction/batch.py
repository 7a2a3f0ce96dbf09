"""``radcurate extract --batch``: the Batch API path, resumable across restarts.

Batches take minutes to a day, so a submitted batch outlives the process that submitted it: its
id is recorded in the label source's details (``open_batches``) the moment it is created, and a
later run — after a kill, a cancel, or simply a new ``extract --batch`` — collects the open
batches first and only then submits what is still neither labelled nor cached. Answers go
through the same validation, cache and label writes as online answers.

(The one window left: a kill between the server creating a batch and the id being committed
would leave that batch unrecorded, and its reports would be submitted again.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radcurate.engine.extraction.remote import Outcome, RemoteRun, ReportGroup
from radcurate.engine.jobs import records as jobs
from radcurate.engine.store import labels as label_store
from radcurate.engine.store import llm_cache
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.store.llm_cache import LLMAnswer


def _open_batches(run: RemoteRun) -> list[str]:
    return list(label_store.get_source(run.db, run.source).details.get("open_batches", []))


def _record_open(run: RemoteRun, batch_ids: list[str]) -> None:
    with write_transaction(run.db) as conn:
        label_store.update_details(conn, run.source, open_batches=batch_ids or None)


async def _should_stop(run: RemoteRun) -> bool:
    if run.stop.is_set():
        return True
    loop = asyncio.get_running_loop()
    if await loop.run_in_executor(run._executor, jobs.is_cancel_requested, run.writer_db, run.job.id):
        run.stop.set()
    return run.stop.is_set()


async def _collect(run: RemoteRun, batch_id: str, groups: dict[str, ReportGroup]) -> bool:
    """Wait for one batch and ingest its answers; False if stopped before it ended."""
    extractor: Any = run.extractor
    result = await extractor.batch_answers(batch_id, run.vocabulary, should_stop=lambda: _should_stop(run))
    if result is None:
        return False
    status, answers = result
    outcomes: list[Outcome] = []
    for key, answer in answers.items():
        group = groups.pop(key, None)
        if group is None:
            continue  # its reports were labelled or changed meanwhile
        if isinstance(answer, LLMAnswer):
            run.summary.requests += 1
            run.summary.tokens_in += answer.tokens_in
            run.summary.tokens_out += answer.tokens_out
            run.summary.cost_usd += answer.cost_usd
            outcomes.append(run.outcome(group, answer, fresh=True))
        else:
            run.summary.failed_requests += 1
            outcomes.append(Outcome(group, reason=f"{run.extractor.model}: {answer}", field="request"))
    await run.write(outcomes)
    jobs.update(
        run.db,
        run.job.id,
        message=f"batch {batch_id} {status}: {len(answers)} answers",
    )
    return True


async def run_batch(run: RemoteRun, groups: Sequence[ReportGroup], folder: Path) -> None:
    """Answer ``groups`` from the cache, from open batches, then from new batches."""
    started = time.monotonic()
    extractor: Any = run.extractor
    try:
        waiting = {g.key: g for g in groups}
        cached = {} if run.refresh else llm_cache.get_many(run.db, waiting)
        hits = [run.outcome(waiting.pop(key), answer, fresh=False) for key, answer in cached.items()]
        run.summary.cache_hits += len(hits)
        await run.write(hits)
        open_ids = _open_batches(run)
        for batch_id in list(open_ids):
            if not await _collect(run, batch_id, waiting):
                return
            open_ids.remove(batch_id)
            _record_open(run, open_ids)
        if not waiting or run.stop.is_set():
            return
        stem = f"job{run.job.id}-{int(time.time())}"
        new_ids = await extractor.submit_batch(
            [(k, g.outgoing) for k, g in waiting.items()], run.vocabulary, folder, stem
        )
        run.summary.batches.extend(new_ids)
        open_ids.extend(new_ids)
        _record_open(run, open_ids)
        run.job.set_params(_batches=new_ids)
        jobs.update(run.db, run.job.id, message=f"submitted {len(waiting)} requests in {len(new_ids)} batch(es)")
        for batch_id in new_ids:
            if not await _collect(run, batch_id, waiting):
                return
            open_ids.remove(batch_id)
            _record_open(run, open_ids)
    finally:
        run.summary.seconds += time.monotonic() - started
