"""Running an offline extractor (the rules) across the cores for big runs, results in report order.

The rules extractor is pure Python and CPU-bound, so a site's archive is labelled by a process pool
(one worker per core) while the parent process alone writes the store, in batches — SQLite wants
one writer. The workers also check each report's labels and pack them as the store keeps them,
so the writer's share per report is one INSERT. Small runs stay in-process: starting workers
costs more than a few hundred reports.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import ExtractionError
from radcurate.engine.store.label_sets import pack
from radcurate.engine.store.studies import Report
from radcurate.engine.vocabulary import Vocabulary

POOL_MIN_REPORTS = 2000  # below this a pool's start-up costs more than it saves
CHUNK = 100  # reports per task: large enough to amortise pickling, small enough to keep progress live
WATCH_PARENT_S = 1.0  # how often a worker checks that the job that started it is still there

Outcome = tuple[list[SilverLabel] | None, str]  # (labels, "") or (None, the reason to quarantine)

_worker_extractor: Any = None
_worker_vocabulary: Vocabulary | None = None


def _label_one(extractor: Any, text: str, vocabulary: Vocabulary) -> Outcome:
    try:
        return extractor.extract(text, vocabulary), ""
    except ExtractionError as exc:
        return None, f"{extractor.name}: {exc}"
    except Exception as exc:  # a plugin bug must not stop the batch; it is recorded with its type
        return None, f"{extractor.name} crashed: {type(exc).__name__}: {exc}"


def _init_worker(payload: bytes) -> None:
    global _worker_extractor, _worker_vocabulary
    _worker_extractor, _worker_vocabulary = pickle.loads(payload)
    parent = os.getppid()

    def watch() -> None:  # a job killed with SIGKILL leaves its workers waiting on a queue forever
        while os.getppid() == parent:
            time.sleep(WATCH_PARENT_S)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


#: A report's outcome as the store's writer wants it: (the packed label set, its label count,
#: any label flagged?, "") or (None, 0, False, the reason to quarantine). Checking and packing run
#: in the worker: the writer binds the packed text as is (engine/store/label_sets.py).
Labelled = tuple[str | None, int, bool, str]


def check_labels(labels: Sequence[SilverLabel], vocabulary: Vocabulary) -> list[SilverLabel]:
    """``labels`` in vocabulary order, one per finding, or an :class:`ExtractionError` saying what is wrong."""
    if not isinstance(labels, list | tuple):
        raise ExtractionError(f"the extractor returned {type(labels).__name__}, not a list of labels")
    by_finding = {lab.finding: lab for lab in labels}
    missing = [f for f in vocabulary if f not in by_finding]
    if missing or len(labels) != len(vocabulary):
        raise ExtractionError(
            f"the extractor returned {len(labels)} labels for {len(vocabulary)} findings"
            + (f" (missing: {', '.join(missing)})" if missing else "")
        )
    return [by_finding[f] for f in vocabulary]


def _label_and_pack(extractor: Any, text: str, vocabulary: Vocabulary) -> Labelled:
    labels, reason = _label_one(extractor, text, vocabulary)
    if labels is None:
        return None, 0, False, reason
    try:
        ordered = check_labels(labels, vocabulary)
        return pack(ordered), len(ordered), any(lab.flags for lab in ordered), ""
    except ExtractionError as exc:
        return None, 0, False, f"{extractor.name}: {exc}"
    except Exception as exc:  # a plugin's own label type that does not hold a label's fields
        return None, 0, False, f"{extractor.name} returned unusable labels: {type(exc).__name__}: {exc}"


def _label_chunk(texts: Sequence[str]) -> list[Labelled]:
    assert _worker_vocabulary is not None
    return [_label_and_pack(_worker_extractor, text, _worker_vocabulary) for text in texts]


def workers_for(extractor: Any, n_reports: int) -> int:
    """How many worker processes to use (0: label in this process)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or n_reports < POOL_MIN_REPORTS or getattr(extractor, "parallel_safe", True) is False:
        return 0
    try:
        pickle.dumps(extractor)
    except Exception:  # an extractor holding a client or a lock stays in-process
        return 0
    return cores


def label_reports(extractor: Any, reports: Sequence[Report], vocabulary: Vocabulary) -> Iterator[Labelled]:
    """Each report's outcome (:data:`Labelled`), in the order of ``reports``; a pool across the cores for big runs.

    The caller may stop iterating at any time (a cancel): pending work is dropped with the pool.
    """
    workers = workers_for(extractor, len(reports))
    if not workers:
        for report in reports:
            yield _label_and_pack(extractor, report.text, vocabulary)
        return
    payload = pickle.dumps((extractor, vocabulary))
    chunks = [[r.text for r in reports[i : i + CHUNK]] for i in range(0, len(reports), CHUNK)]
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(payload,))
    try:
        for outcomes in pool.map(_label_chunk, chunks):
            yield from outcomes
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
