"""Starting a job's work as a detached ``radcurate`` subprocess, and starting it again.

The desktop (and anything else that must not block) records a queued job and launches
``python -m radcurate.engine.cli COMMAND DIR --options --job ID``; the subprocess claims the row
with :func:`radcurate.engine.jobs.records.start_job` and reports progress there. Its output goes to
``<project>/logs/job-<id>.log``. Resuming launches the same command line for the same row.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlite_utils

from radcurate.engine.errors import InputError
from radcurate.engine.jobs.records import RESUMABLE, Job, create, get, reap
from radcurate.engine.store.database import utc_now


def command_line(command: str, project_path: Path, params: Mapping[str, Any], job_id: int) -> list[str]:
    """``radcurate COMMAND DIR --flag value ... --job ID``: params map to the command's options.

    Keys become ``--kebab-case`` flags; ``True`` is a bare flag, ``False``/``None`` are left out.
    Keys starting with ``_`` are the job's own bookkeeping (e.g. a Batch API id) and are not passed.
    """
    argv = [sys.executable, "-m", "radcurate.engine.cli", command, str(project_path)]
    for key, value in params.items():
        if key.startswith("_") or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv + ["--job", str(job_id)]


def launch(
    db: sqlite_utils.Database,
    project_path: Path,
    command: str,
    params: Mapping[str, Any] | None = None,
    *,
    job_id: int | None = None,
) -> Job:
    """Start ``radcurate COMMAND`` as a detached subprocess that claims a new (or the given) job.

    The subprocess's output goes to ``<project>/logs/job-<id>.log``. Returns the queued job at
    once; watch it with :func:`get` / :func:`list_jobs`.
    """
    job = create(db, command, params) if job_id is None else get(db, job_id)
    # Reset before the child starts: it may claim the row (status running, its pid) at any moment.
    # Only a job nobody works on is reset (one statement, so a live worker's row is never taken).
    reset = db.conn.execute(
        "UPDATE jobs SET status = 'queued', pid = NULL, started_at = ?, finished_at = NULL, "
        "error = NULL, cancel_requested = 0 WHERE id = ? AND (status IN ('failed', 'cancelled', 'interrupted') "
        "OR (status = 'queued' AND pid IS NULL))",
        (utc_now(), job.id),
    ).rowcount
    if reset != 1:
        raise InputError(f"job {job.id} is {get(db, job.id).status}; it cannot be launched again now", field="job")
    logs = Path(project_path) / "logs"
    logs.mkdir(exist_ok=True)
    argv = command_line(command, Path(project_path), job.params, job.id)
    with open(logs / f"job-{job.id}.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(project_path),
        )
    db.conn.execute("UPDATE jobs SET pid = ? WHERE id = ? AND pid IS NULL AND status = 'queued'", (proc.pid, job.id))
    return get(db, job.id)


def resume(db: sqlite_utils.Database, project_path: Path, job_id: int) -> Job:
    """Launch a failed, cancelled or interrupted job again, same command and parameters."""
    reap(db)
    job = get(db, job_id)
    if job.status not in RESUMABLE:
        raise InputError(f"job {job_id} is {job.status}; only {', '.join(sorted(RESUMABLE))} jobs resume", field="job")
    return launch(db, project_path, job.kind, job_id=job.id)
