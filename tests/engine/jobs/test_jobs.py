"""Jobs in the store: status transitions, cooperative cancel, dead workers, background launch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from radcurate.engine.contracts import plugins
from radcurate.engine.errors import InputError
from radcurate.engine.extraction import runner
from radcurate.engine.jobs import launch as job_launch
from radcurate.engine.jobs import records as jobs
from radcurate.engine.project import Project
from radcurate.engine.store.database import connect, utc_now
from tests.conftest import add_studies


def wait_for(project: Project, job_id: int, timeout: float = 30.0) -> jobs.Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = project.job(job_id)
        if job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {project.job(job_id).status} after {timeout} s")


def test_a_job_runs_reports_progress_and_finishes_done(project: Project) -> None:
    with jobs.running(project.db, "export", {"out": "/tmp/x", "n": 3}) as job:
        running = project.job(job.id)
        assert (running.status, running.pid, running.params) == ("running", os.getpid(), {"out": "/tmp/x", "n": 3})
        assert job.update(2, 4, "half way", force=True) is False
        assert project.job(job.id).fraction == 0.5
    done = project.job(job.id)
    assert (done.status, done.progress, done.total, done.message) == ("done", 2, 4, "half way")
    assert done.finished_at >= done.started_at
    assert [j.id for j in project.jobs()] == [job.id]


def test_a_throttled_last_step_is_written_by_the_next_write_or_the_finish(project: Project) -> None:
    # A fast job's steps land inside the throttle interval; the finished job must still read n of n.
    job = jobs.JobHandle(project.db, jobs.start_job(project.db, "train", None), min_interval_s=3600.0)
    job.update(1, 3, "step 1", force=True)
    job.update(2, 3, "step 2")
    job.update(3, 3)  # both throttled: nothing written yet
    assert project.job(job.id).progress == 1
    job.update(message="registering", force=True)
    assert (project.job(job.id).progress, project.job(job.id).message) == (3, "registering")
    job.update(message="scoring")  # throttled again: the finish writes it
    job.finish("done")
    done = project.job(job.id)
    assert (done.status, done.progress, done.total, done.message) == ("done", 3, 3, "scoring")


@pytest.mark.parametrize(
    ("exc", "status"), [(RuntimeError("disk full"), "failed"), (KeyboardInterrupt(), "interrupted")]
)
def test_an_exception_closes_the_job_with_the_right_status(project: Project, exc: BaseException, status: str) -> None:
    with pytest.raises(type(exc)), jobs.running(project.db, "train") as job:
        raise exc
    closed = project.job(job.id)
    assert closed.status == status
    assert closed.error == ("disk full" if status == "failed" else "interrupted by the user")


def test_cancel_is_cooperative_and_seen_at_the_next_update(project: Project, tmp_path: Path) -> None:
    with jobs.running(project.db, "score") as job:
        other = Project.open(project.path)  # the desktop or `radcurate cancel` in another process
        assert other.cancel_job(job.id).status == "running"
        other.close()
        assert job.update(1, 10, force=True) is True
        job.check_cancel()
        pytest.fail("check_cancel should have raised JobCancelled")
    assert project.job(job.id).status == "cancelled"
    # a queued job no process has claimed is cancelled at once, and cannot be claimed afterwards
    queued = jobs.create(project.db, "export")
    assert project.cancel_job(queued.id).status == "cancelled"
    with pytest.raises(jobs.JobCancelled):
        jobs.start_job(project.db, "export", job_id=queued.id)


def test_a_killed_worker_is_marked_interrupted(project: Project) -> None:
    code = (
        "import sys, time; from radcurate.engine.project import Project\n"
        "from radcurate.engine.jobs import records as jobs\n"
        "p = Project.open(sys.argv[1]); j = jobs.start_job(p.db, 'train', {'epochs': 3})\n"
        "print(j.id, flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(project.path)], stdout=subprocess.PIPE, text=True)
    job_id = int(proc.stdout.readline())
    assert project.jobs()[0].status == "running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    job = project.jobs()[0]  # listing reaps dead workers
    assert (job.id, job.status) == (job_id, "interrupted")
    assert "stopped unexpectedly" in job.error


def test_a_recycled_pid_is_not_taken_for_the_worker() -> None:
    assert jobs.process_alive(os.getpid(), utc_now())
    assert not jobs.process_alive(os.getpid(), "2001-01-01T00:00:00+00:00")  # we were born after that claim
    assert not jobs.process_alive(None, None)


def test_params_map_to_the_command_line_and_must_be_json(project: Project) -> None:
    argv = job_launch.command_line(
        "extract",
        Path("/p"),
        {"extractor": "llm", "limit": 5, "batch": True, "dry_run": False, "model": None, "_batches": ["b1"]},
        7,
    )
    assert argv[3:] == ["extract", "/p", "--extractor", "llm", "--limit", "5", "--batch", "--job", "7"]
    with pytest.raises(InputError, match="JSON"):
        jobs.create(project.db, "export", {"path": Path("/x")})
    with pytest.raises(InputError, match="no job 99"):
        project.job(99)


def test_background_extraction_job_runs_and_an_interrupted_job_resumes(project: Project) -> None:
    add_studies(project, {"s1": "Cardiomegaly.", "s2": "No pleural effusion.", "s3": "Emphysema."})
    job = project.start_job("extract", {"extractor": "rules", "limit": 2})
    assert job.status in ("queued", "running")
    done = wait_for(project, job.id)
    assert (done.status, done.progress, done.total) == ("done", 2, 2), done.error
    assert (project.path / "logs" / f"job-{job.id}.log").exists()
    assert len(project.silver("s1")) == 18 and project.silver("s3") == {}
    # pretend the job died half-way: resuming launches the same command on the same job row
    jobs.finish(project.db, job.id, "interrupted", "power cut")
    resumed = project.resume_job(job.id)
    assert resumed.id == job.id
    again = wait_for(project, job.id)
    assert again.status == "done" and again.error is None
    assert len(project.silver("s3")) == 18
    with pytest.raises(InputError, match="only cancelled, failed, interrupted jobs resume"):
        project.resume_job(job.id)


def test_two_claimers_of_one_job_one_wins_the_other_is_told(project: Project) -> None:
    queued = jobs.create(project.db, "extract", {"extractor": "rules"})
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def claim() -> None:
        db = connect(project.path / "radcurate.db")  # every thread its own connection
        try:
            barrier.wait()
            jobs.start_job(db, "extract", job_id=queued.id)
            outcomes.append("claimed")
        except InputError as exc:
            outcomes.append(str(exc))
        finally:
            db.conn.close()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("claimed") == 1, outcomes
    refused = [o for o in outcomes if o != "claimed"]
    assert len(refused) == 5 and all(f"job {queued.id} is already running (pid {os.getpid()})" in o for o in refused)
    assert project.job(queued.id).status == "running"
    with pytest.raises(InputError, match="already running"):  # claiming again, even by the winner, is refused
        jobs.start_job(project.db, "extract", job_id=queued.id)


def test_a_zombie_or_gone_process_is_dead_and_its_job_can_be_claimed_again(project: Project) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 20
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not jobs.process_alive(child.pid, utc_now())  # exited, not yet waited for: a zombie
    job = jobs.start_job(project.db, "train")
    project.db.execute("UPDATE jobs SET pid = ? WHERE id = ?", [child.pid, job.id])
    child.wait()
    assert not jobs.process_alive(child.pid, utc_now())  # gone
    claimed = jobs.start_job(project.db, "train", job_id=job.id)  # the dead worker's job is reaped, then claimed
    assert (claimed.status, claimed.pid) == ("running", os.getpid())


def test_a_cancel_after_the_last_report_still_ends_done(project: Project) -> None:
    add_studies(project, {"s1": "Cardiomegaly.", "s2": "No pleural effusion."})
    rules = plugins.create("extractors", "rules")

    class CancelledAtTheEnd:
        """The rules extractor, with a cancel arriving from another process while it labels the last report."""

        name, version = "rules", rules.version
        calls = 0

        def extract(self, text: str, vocabulary):  # noqa: ANN001, ANN201 - the extractor contract
            self.calls += 1
            if self.calls == 2:
                with Project.open(project.path) as other:
                    other.cancel_job(other.jobs()[0].id)
            return rules.extract(text, vocabulary)

    summary = runner.run_extraction(project, CancelledAtTheEnd())
    job = project.job(summary.job)
    assert (summary.status, summary.labelled, job.status, job.cancel_requested) == ("done", 2, "done", True)
