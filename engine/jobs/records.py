"""Long work recorded in the store: extraction, training, export, scoring.

A job is a row in the ``jobs`` table that the process doing the work keeps up to date (progress,
total, a message) and that anyone else — the CLI's ``jobs`` command, the desktop's Jobs dock —
reads. Why the store and not a queue server: the project folder is the single source of truth,
and SQLite in WAL mode lets readers watch while the worker writes.

Life of a job::

    queued ──claim──▶ running ──▶ done | failed | cancelled
                         │
                         └── the process died (kill -9, power cut) ──▶ interrupted

* The process doing the work owns the job: :func:`running` (a context manager) claims it with its
  own pid and closes it with the right status however the block ends.
* Cancelling is cooperative: :func:`cancel` sets a flag; the worker sees it at its next progress
  update (``JobHandle.update`` returns ``True``), stops at a safe point (after a commit) and
  closes the job as ``cancelled``. Nothing is torn: work committed before stays committed.
* A job whose process is gone is found when jobs are listed (:func:`list_jobs` reaps it) and
  marked ``interrupted``. There is no heartbeat column; liveness is the recorded pid *and* that
  process's create time (psutil, on every OS) against ``started_at`` (set when the job is
  claimed), so a recycled pid is not mistaken for the worker.
* Claiming is atomic (:func:`start_job`): one worker per job, a second claimer is refused.
* :mod:`radcurate.engine.jobs.launch` starts the work as a detached ``radcurate`` subprocess (what
  the desktop uses) and resumes an interrupted/failed/cancelled job with the same parameters —
  the work itself is resumable (extraction skips labelled reports, training resumes from its
  checkpoint).

Parameters are stored as JSON and must never hold secrets (API keys come from the environment).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psutil
import sqlite_utils

from radcurate.engine.errors import InputError, RadcurateError
from radcurate.engine.store.database import utc_now
from radcurate.engine.store.decisions import write_transaction

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINISHED = frozenset({"done", "failed", "cancelled", "interrupted"})
RESUMABLE = frozenset({"failed", "cancelled", "interrupted"})
CLAIMABLE = ("queued", "failed", "interrupted")  # launch() puts a resumed job back to queued
_COLUMNS = (
    "id, kind, status, params, progress, total, message, pid, cancel_requested, created_at, "
    "started_at, finished_at, error"
)


class JobCancelled(RadcurateError):
    """Raised inside a job's work when a cancel was requested; :func:`running` records ``cancelled``."""


@dataclass(frozen=True)
class Job:
    """One job as stored. ``total`` is ``None`` while unknown; ``progress`` counts work items."""

    id: int
    kind: str
    status: str
    params: dict[str, Any]
    progress: int
    total: int | None
    message: str | None
    pid: int | None
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def fraction(self) -> float | None:
        """Progress in [0, 1], or ``None`` while the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.progress / self.total)

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["fraction"] = self.fraction
        return data


def _row_to_job(row: tuple[Any, ...]) -> Job:
    fields = [*row[:3], json.loads(row[3] or "{}"), *row[4:8], bool(row[8]), *row[9:]]
    return Job(*fields)


# --------------------------------------------------------------------------- reading
def get(db: sqlite_utils.Database, job_id: int) -> Job:
    row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", [int(job_id)]).fetchone()
    if row is None:
        raise InputError(f"no job {job_id} in this project", field="job")
    return _row_to_job(row)


def list_jobs(db: sqlite_utils.Database, *, kind: str | None = None, limit: int | None = None) -> list[Job]:
    """Jobs newest first; running jobs whose process is gone are marked ``interrupted`` first."""
    reap(db)
    sql, params = f"SELECT {_COLUMNS} FROM jobs", []
    if kind:
        sql += " WHERE kind = ?"
        params.append(kind)
    sql += " ORDER BY id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_row_to_job(r) for r in db.execute(sql, params).fetchall()]


def is_cancel_requested(db: sqlite_utils.Database, job_id: int) -> bool:
    row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", [int(job_id)]).fetchone()
    return bool(row and row[0])


# --------------------------------------------------------------------------- liveness
#: A process born this long after the job was claimed is not its worker (a recycled pid); the
#: slack covers clock granularity (psutil's create time is in clock ticks) and the launch race.
PID_REUSE_SLACK_S = 2.0


def process_alive(pid: int | None, claimed_at: str | None) -> bool:
    """Is the process that claimed a job at ``claimed_at`` still running?

    psutil works the same on Linux, macOS and Windows (where signal 0 is no probe); a zombie
    counts as dead, and a live process created after the claim is someone else reusing the pid.
    """
    if not pid:
        return False
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = proc.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # exists, owned by someone else; its age is unknown
        return True
    if claimed_at:
        claimed = _dt.datetime.fromisoformat(claimed_at).timestamp()
        if created > claimed + PID_REUSE_SLACK_S:
            return False
    return True


def reap(db: sqlite_utils.Database) -> list[int]:
    """Mark running/queued jobs whose process is gone as ``interrupted``; return their ids.

    The update re-checks the pid it judged, so a job claimed again meanwhile by a live worker stays.
    """
    rows = db.execute(
        "SELECT id, pid, coalesce(started_at, created_at) FROM jobs "
        "WHERE status IN ('running', 'queued') AND pid IS NOT NULL"
    ).fetchall()
    dead = [(job_id, pid) for job_id, pid, claimed in rows if not process_alive(pid, claimed)]
    reaped = []
    if dead:
        with write_transaction(db) as conn:
            for job_id, pid in dead:
                cur = conn.execute(
                    "UPDATE jobs SET status = 'interrupted', finished_at = ?, "
                    "error = coalesce(error, 'the process running this job stopped unexpectedly') "
                    "WHERE id = ? AND pid = ? AND status IN ('running', 'queued')",
                    (utc_now(), job_id, pid),
                )
                if cur.rowcount:
                    reaped.append(job_id)
    return reaped


# --------------------------------------------------------------------------- writing
def _check_params(params: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(params), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"job parameters must be JSON values ({exc})", field="params") from None


def create(db: sqlite_utils.Database, kind: str, params: Mapping[str, Any] | None = None) -> Job:
    """Record a ``queued`` job (for :func:`launch`, or to be claimed by :func:`running`)."""
    text = _check_params(params or {})
    with write_transaction(db) as conn:
        cur = conn.execute(
            "INSERT INTO jobs (kind, status, params, created_at) VALUES (?, 'queued', ?, ?)", (kind, text, utc_now())
        )
        job_id = int(cur.lastrowid or 0)
    return get(db, job_id)


def start_job(
    db: sqlite_utils.Database, kind: str, params: Mapping[str, Any] | None = None, *, job_id: int | None = None
) -> Job:
    """Claim a job for *this* process (status ``running``, our pid, ``started_at`` now): a new one, or ``job_id``.

    Claiming an existing job is how a launched subprocess takes over the row made for it, and how
    a resumed job starts again. The claim is one ``UPDATE … WHERE status IN (claimable)``: of two
    processes claiming the same job at once exactly one gets it, the other an :class:`InputError`.
    A ``running`` job whose worker is gone is reaped (``interrupted``) first, so it can be claimed.
    """
    now = utc_now()
    if job_id is None:
        text = _check_params(params or {})
        with write_transaction(db) as conn:
            cur = conn.execute(
                "INSERT INTO jobs (kind, status, params, pid, created_at, started_at) "
                "VALUES (?, 'running', ?, ?, ?, ?)",
                (kind, text, os.getpid(), now, now),
            )
            job_id = int(cur.lastrowid or 0)
        return get(db, job_id)
    job = get(db, job_id)
    if job.kind != kind:
        raise InputError(f"job {job_id} is a {job.kind} job, not {kind}", field="job")
    if job.status == "running":
        reap(db)
    with write_transaction(db) as conn:
        claimed = conn.execute(
            "UPDATE jobs SET status = 'running', pid = ?, started_at = ?, finished_at = NULL, error = NULL "
            f"WHERE id = ? AND status IN ({', '.join('?' * len(CLAIMABLE))})",
            (os.getpid(), now, job_id, *CLAIMABLE),
        ).rowcount
    job = get(db, job_id)
    if claimed == 1:
        return job
    if job.status == "cancelled":
        raise JobCancelled(f"job {job_id} was cancelled before it started")
    if job.status == "done":
        raise InputError(f"job {job_id} has already finished", field="job")
    raise InputError(f"job {job_id} is already running (pid {job.pid}); a job has one worker at a time", field="job")


def update(
    db: sqlite_utils.Database,
    job_id: int,
    progress: int | None = None,
    total: int | None = None,
    message: str | None = None,
) -> bool:
    """Record progress (autocommit, or inside the caller's transaction); True if cancel was asked."""
    db.conn.execute(
        "UPDATE jobs SET progress = coalesce(?, progress), total = coalesce(?, total), "
        "message = coalesce(?, message) WHERE id = ?",
        (progress, total, message, int(job_id)),
    )
    return is_cancel_requested(db, job_id)


def set_params(db: sqlite_utils.Database, job_id: int, **extra: Any) -> Job:
    """Merge ``extra`` into a job's stored parameters (e.g. a submitted Batch API id to resume)."""
    job = get(db, job_id)
    text = _check_params({**job.params, **extra})
    db.conn.execute("UPDATE jobs SET params = ? WHERE id = ?", (text, int(job_id)))
    return get(db, job_id)


def finish(db: sqlite_utils.Database, job_id: int, status: str, error: str | None = None) -> Job:
    if status not in FINISHED:
        raise InputError(f"{status!r} is not a final job status ({', '.join(sorted(FINISHED))})", field="status")
    db.conn.execute(
        "UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?", (status, error, utc_now(), int(job_id))
    )
    return get(db, job_id)


def cancel(db: sqlite_utils.Database, job_id: int) -> Job:
    """Ask a job to stop. A queued job no live process holds is cancelled at once; a running one
    stops at its next update. Each write re-checks the status, so a claim racing it is not torn."""
    job = get(db, job_id)
    if job.finished:
        return job
    with write_transaction(db) as conn:
        conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status IN ('queued', 'running')", (job.id,))
        if job.status == "queued" and not process_alive(job.pid, job.started_at or job.created_at):
            conn.execute(
                "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status = 'queued'",
                (utc_now(), job.id),
            )
    reap(db)
    return get(db, job_id)


# --------------------------------------------------------------------------- running
class JobHandle:
    """What the work sees of its job: throttled progress updates and the cancel flag."""

    def __init__(self, db: sqlite_utils.Database, job: Job, *, min_interval_s: float = 0.25):
        self.db = db
        self.id = job.id
        self.status: str | None = None
        self._min_interval = min_interval_s
        self._last = 0.0
        self._cancel = False
        self._held: dict[str, Any] = {}  # the newest values a throttled update did not write yet

    def update(
        self, progress: int | None = None, total: int | None = None, message: str | None = None, *, force: bool = False
    ) -> bool:
        """Record progress at most every ``min_interval_s`` (or now with ``force``); True if cancel was asked.

        A throttled call's values are kept and written with the next write (or :meth:`finish`), so the
        last step of a fast job is not lost: a finished job reads ``progress == total``."""
        given = {"progress": progress, "total": total, "message": message}
        self._held |= {key: value for key, value in given.items() if value is not None}
        now = time.monotonic()
        if force or now - self._last >= self._min_interval:
            self._last = now
            held, self._held = self._held, {}
            self._cancel = update(self.db, self.id, **held) or self._cancel
        return self._cancel

    @property
    def cancel_requested(self) -> bool:
        self._cancel = self._cancel or is_cancel_requested(self.db, self.id)
        return self._cancel

    def check_cancel(self) -> None:
        """Raise :class:`JobCancelled` if a cancel was asked (call it at safe points)."""
        if self.cancel_requested:
            raise JobCancelled(f"job {self.id} was cancelled")

    def set_params(self, **extra: Any) -> None:
        set_params(self.db, self.id, **extra)

    def finish(self, status: str, error: str | None = None) -> None:
        """Close the job now with ``status`` (the context manager then leaves it alone)."""
        if self._held:
            self.update(force=True)
        finish(self.db, self.id, status, error)
        self.status = status


def _close(handle: JobHandle, status: str, error: str | None = None) -> None:
    """Record how the work ended, unless the store itself refuses (locked, full, read-only): then the
    original error is what the user must see, and the job is reaped as ``interrupted`` once we exit."""
    if handle.status is None:
        with contextlib.suppress(sqlite3.Error):
            handle.finish(status, error)


@contextlib.contextmanager
def running(
    db: sqlite_utils.Database, kind: str, params: Mapping[str, Any] | None = None, *, job_id: int | None = None
) -> Iterator[JobHandle]:
    """Run a block of work as a job: claimed on entry, closed on exit.

    The block ending normally closes the job ``done`` (unless the work called ``handle.finish``);
    :class:`JobCancelled` closes it ``cancelled`` and is swallowed; ``KeyboardInterrupt`` closes it
    ``interrupted`` and any other exception ``failed`` with the message, both re-raised.
    """
    handle = JobHandle(db, start_job(db, kind, params, job_id=job_id))
    try:
        yield handle
    except JobCancelled:
        _close(handle, "cancelled")
    except KeyboardInterrupt:
        _close(handle, "interrupted", "interrupted by the user")
        raise
    except BaseException as exc:
        _close(handle, "failed", str(exc) or type(exc).__name__)
        raise
    else:
        if handle.status is None:
            handle.finish("done")
