"""Running an extractor that asks a remote service (the LLM extractor) over many reports.

What this adds over calling ``extract`` per report:

* **The cache.** Reports are grouped by cache key (report text, model, prompt): identical texts
  are asked once, and a key with a stored answer is never asked again — a rerun costs nothing.
* **Concurrency.** ``concurrency`` asyncio workers, each with one request in flight; the
  extractor's client does its own retries with backoff (429, 5xx, timeouts).
* **Durability.** Each answer is stored in ``llm_cache`` in the *same transaction* as the labels
  made from it (or the quarantine record when it is malformed). Answers are committed in groups
  by one writer (the commit's fsync is the slowest step; grouping keeps up with hundreds of
  answers a second), so a kill -9 can lose at most the answers that arrived since the last
  commit — never a committed label, never a stored answer.
* **Failure handling.** A request that still fails after the client's retries is quarantined for
  that report (not cached, so the next run asks again); an endpoint that refuses the key or the
  model, or fails many requests in a row, stops the run (:class:`EndpointUnusable`).

The extractor side of the contract is :class:`RemoteExtractor`; ``plugins/extractors/llm.py``
implements it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import sqlite_utils

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import ExtractionError
from radcurate.engine.extraction.outcomes import store_report_outcome
from radcurate.engine.extraction.summary import ExtractionSummary
from radcurate.engine.jobs import records as jobs
from radcurate.engine.jobs.records import JobHandle
from radcurate.engine.store import llm_cache, quarantine
from radcurate.engine.store.database import connect, path_of
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.store.llm_cache import LLMAnswer
from radcurate.engine.store.studies import Report, text_sha256
from radcurate.engine.vocabulary import Vocabulary

#: Stop the run after this many requests in a row failed even after the client's retries.
FAILURES_IN_A_ROW = 20


class RequestFailed(ExtractionError):
    """One request failed after the client's retries (or was refused, e.g. 400): quarantine, go on."""


class EndpointUnusable(ExtractionError):
    """The endpoint cannot serve this run (bad key, unknown model, unreachable): stop the run."""


@runtime_checkable
class RemoteExtractor(Protocol):
    """An extractor whose answers come from a service and are worth caching."""

    name: str
    version: str
    model: str
    concurrency: int

    def prompt_hash(self, vocabulary: Vocabulary) -> str: ...

    def cache_key(self, report_sha256: str, vocabulary: Vocabulary) -> str: ...

    async def ask(self, report: str, vocabulary: Vocabulary) -> LLMAnswer: ...

    def labels_from_answer(self, report: str, answer: LLMAnswer, vocabulary: Vocabulary) -> list[SilverLabel]: ...

    async def aclose(self) -> None: ...


@dataclass
class ReportGroup:
    """Reports with the same cache key (identical text): asked once, labelled together."""

    key: str
    reports: list[Report]
    sent: str | None = None  # what goes to the endpoint when the PHI guard scrubbed it (phi_guard.py)

    @property
    def text(self) -> str:
        return self.reports[0].text

    @property
    def outgoing(self) -> str:
        return self.text if self.sent is None else self.sent


@dataclass
class Outcome:
    """What became of one group: labels, or the reason it goes to quarantine."""

    group: ReportGroup
    answer: LLMAnswer | None = None
    fresh: bool = False  # fetched in this run: store it in the cache
    labels: list[SilverLabel] | None = None
    reason: str | None = None
    field: str = "answer"


@dataclass
class RemoteRun:
    """One run's shared state: where to write, what to count, when to stop."""

    db: sqlite_utils.Database
    extractor: RemoteExtractor
    vocabulary: Vocabulary
    source: str
    job: JobHandle
    summary: ExtractionSummary
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    fatal: EndpointUnusable | None = None
    on_commit: Callable[[], None] | None = None
    refresh: bool = False  # ask the endpoint again instead of serving cached answers
    _executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "radcurate-writer"))
    _writer_db: sqlite_utils.Database | None = None
    last_failure: str | None = None  # the reason of the latest failed request

    @property
    def writer_db(self) -> sqlite_utils.Database:
        """The writer thread's own connection, opened there on first use (one connection per thread)."""
        if self._writer_db is None:
            path = path_of(self.db)
            self._writer_db = connect(path) if path else self.db
        return self._writer_db

    # ------------------------------------------------------------------ answers → outcomes
    def outcome(self, group: ReportGroup, answer: LLMAnswer, *, fresh: bool) -> Outcome:
        try:
            found = self.extractor.labels_from_answer(group.text, answer, self.vocabulary)
        except ExtractionError as exc:
            return Outcome(group, answer, fresh, reason=f"{self.extractor.model}: {exc}")
        except Exception as exc:  # a validation bug must not stop the batch; recorded with its type
            return Outcome(group, answer, fresh, reason=f"{self.extractor.name} crashed: {type(exc).__name__}: {exc}")
        return Outcome(group, answer, fresh, labels=found)

    # ------------------------------------------------------------------ the store
    def _commit(self, outcomes: Sequence[Outcome]) -> bool:
        """Write outcomes in one transaction (runs on the writer thread); True if cancel was asked."""
        s, model = self.summary, self.extractor.model
        prompt = self.extractor.prompt_hash(self.vocabulary)
        db = self.writer_db
        with write_transaction(db) as conn:
            for o in outcomes:
                if o.fresh and o.answer is not None:
                    llm_cache.put(
                        conn,
                        o.group.key,
                        report_sha256=o.group.reports[0].sha256,
                        model=model,
                        prompt_hash=prompt,
                        answer=o.answer,
                    )
                for report in o.group.reports:
                    answer = o.answer or LLMAnswer(None, None, 0, 0, 0.0)
                    stored = store_report_outcome(
                        conn,
                        db,
                        report,
                        self.source,
                        o.labels,
                        reason=o.reason or "no answer",
                        field=o.field,
                        extractor_version=self.extractor.version,
                        prompt_hash=prompt,
                        tokens_in=answer.tokens_in,
                        tokens_out=answer.tokens_out,
                        cost_usd=answer.cost_usd,
                    )
                    if not stored or o.labels is None:
                        s.quarantined += 1
                        continue
                    s.labelled += 1
                    flagged = sorted({lab.finding for lab in o.labels if lab.flags})
                    if flagged:
                        s.flagged += 1
                        flags = sorted({f for lab in o.labels for f in lab.flags})
                        quarantine.add(
                            db,
                            report.study_id,
                            "evidence",
                            f"{model}: {', '.join(flags)} for {', '.join(flagged)}; kept as uncertain",
                            "extraction",
                        )
            return jobs.update(db, self.job.id, s.done, s.todo, s.message())

    async def write(self, outcomes: Sequence[Outcome]) -> None:
        if outcomes:
            loop = asyncio.get_running_loop()
            try:
                cancel = await loop.run_in_executor(self._executor, self._commit, outcomes)
            except BaseException:
                self.stop.set()  # the store refused the write (locked, full, read-only): ask nothing more
                raise
            if cancel:
                self.stop.set()
            if self.on_commit is not None:
                self.on_commit()

    async def writer(self, queue: asyncio.Queue[Outcome | None]) -> None:
        """Commit outcomes as they come, as many per transaction as have queued up meanwhile."""
        closing = False
        while not closing:
            first = await queue.get()
            batch = [] if first is None else [first]
            closing = first is None
            while not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    closing = True
                else:
                    batch.append(item)
            await self.write(batch)

    def close(self) -> None:
        if self._writer_db is not None and self._writer_db is not self.db:
            self._executor.submit(self._writer_db.conn.close)
        self._executor.shutdown(wait=True)


def public_url(url: str) -> str:
    """``url`` without user:password, safe to store and print."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def group_reports(
    reports: Sequence[Report],
    extractor: RemoteExtractor,
    vocabulary: Vocabulary,
    scrub: Callable[[Report], str] | None = None,
) -> list[ReportGroup]:
    """Reports grouped by cache key; with ``scrub`` (the PHI guard) the key and what is sent are the
    scrubbed text's, so the cache never holds an answer to raw text meant to be scrubbed."""
    groups: dict[str, ReportGroup] = {}
    for report in reports:
        sent = scrub(report) if scrub is not None else None
        key = extractor.cache_key(text_sha256(sent) if sent is not None else report.sha256, vocabulary)
        groups.setdefault(key, ReportGroup(key, [], sent)).reports.append(report)
    return list(groups.values())


async def _ask(run: RemoteRun, group: ReportGroup) -> Outcome:
    try:
        answer = await run.extractor.ask(group.outgoing, run.vocabulary)
    except EndpointUnusable:
        raise
    except ExtractionError as exc:
        return Outcome(group, reason=f"{run.extractor.model}: request failed: {exc}", field="request")
    run.summary.requests += 1
    run.summary.tokens_in += answer.tokens_in
    run.summary.tokens_out += answer.tokens_out
    run.summary.cost_usd += answer.cost_usd
    return run.outcome(group, answer, fresh=True)


async def _worker(
    run: RemoteRun, todo: asyncio.Queue[ReportGroup], done: asyncio.Queue[Outcome | None], streak: list[int]
) -> None:
    while not run.stop.is_set():
        try:
            group = todo.get_nowait()
        except asyncio.QueueEmpty:
            return
        try:
            outcome = await _ask(run, group)
        except EndpointUnusable as exc:
            run.fatal = run.fatal or exc
            run.stop.set()
            return
        if outcome.field == "request":
            run.summary.failed_requests += 1
            run.last_failure = outcome.reason
            streak[0] += 1
            if streak[0] >= FAILURES_IN_A_ROW:
                run.fatal = EndpointUnusable(f"{streak[0]} requests in a row failed; last: {outcome.reason}")
                run.stop.set()
        else:
            streak[0] = 0
        await done.put(outcome)


async def run_online(run: RemoteRun, groups: Sequence[ReportGroup]) -> None:
    """Answer ``groups`` from the cache or the endpoint, committing as answers arrive."""
    started = time.monotonic()
    cached = {} if run.refresh else llm_cache.get_many(run.db, [g.key for g in groups])
    done: asyncio.Queue[Outcome | None] = asyncio.Queue()
    writer = asyncio.create_task(run.writer(done))
    todo: asyncio.Queue[ReportGroup] = asyncio.Queue()
    for group in groups:
        if group.key in cached:
            run.summary.cache_hits += 1
            await done.put(run.outcome(group, cached[group.key], fresh=False))
        else:
            todo.put_nowait(group)
    streak = [0]
    try:
        n = max(1, min(int(run.extractor.concurrency), todo.qsize() or 1))
        await asyncio.gather(*(_worker(run, todo, done, streak) for _ in range(n)))
    finally:
        await done.put(None)
        await writer
        run.summary.seconds += time.monotonic() - started
    if run.fatal is None and run.summary.failed_requests and not run.summary.requests and not run.summary.cache_hits:
        n = run.summary.failed_requests  # however few reports: nothing came back, so the run failed
        run.fatal = EndpointUnusable(f"every request failed ({n} of {n}); last: {run.last_failure}")
    if run.fatal is not None:
        raise run.fatal
