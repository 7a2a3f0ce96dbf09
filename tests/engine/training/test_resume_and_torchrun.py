"""Resilience and scale-out: SIGKILL + `--resume` ends exactly like an uninterrupted run; torchrun with 2 processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from radcurate.engine.project import Project
from radcurate.engine.training.runs import TrainRequest, train

pytest.importorskip("monai")

CLI = [sys.executable, "-m", "radcurate.engine.cli"]


def _checkpoints(folder: Path) -> list[Path]:
    return list((folder / "models" / "runs").glob("job-*/checkpoint.pt"))


@pytest.mark.slow
def test_sigkill_then_resume_ends_with_the_metrics_of_an_uninterrupted_run(cohort_dir: Path, tmp_path: Path) -> None:
    twin = shutil.copytree(cohort_dir, tmp_path / "twin")
    worker = subprocess.Popen(
        [*CLI, "train", str(cohort_dir), "--epochs", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 600
    while not _checkpoints(cohort_dir) and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
    os.kill(worker.pid, signal.SIGKILL)  # mid-run, after epoch 1's checkpoint
    worker.wait()
    with Project.open(cohort_dir) as project:
        (job,) = project.jobs(kind="train")
        assert job.status == "interrupted"

    resumed = subprocess.run(
        [*CLI, "train", str(cohort_dir), "--epochs", "3", "--resume", "--json"], capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    model = json.loads(resumed.stdout)
    assert model["job"] == job.id and model["metrics"]["resumed_from_epoch"] >= 1

    with Project.open(twin) as project:
        uninterrupted = train(project, TrainRequest(epochs=3))
    assert uninterrupted is not None
    for got, want in zip(model["metrics"]["history"], uninterrupted.metrics["history"], strict=True):
        assert got["loss"] == want["loss"] and got["val_auc"] == want["val_auc"], (got, want)
    assert model["metrics"]["test_auc"] == uninterrupted.metrics["test_auc"]
    assert model["label_snapshot"] == uninterrupted.label_snapshot


@pytest.mark.slow
def test_torchrun_two_processes_train_one_model(cohort_dir: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this interpreter")
    done = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "radcurate.engine.cli"]
        + ["train", str(cohort_dir), "--epochs", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    model = json.loads(done.stdout)  # rank 0 alone prints (and registers, scores, owns the job)
    assert model["kind"] == "supervised" and len(model["metrics"]["history"]) == 2
    with Project.open(cohort_dir) as project:
        (job,) = project.jobs(kind="train")
        assert job.status == "done" and job.progress == job.total
        assert [m.version for m in _models(project)] == [model["version"]]
        assert len(project.scores(project.study_ids()[0])) == 18


def _models(project: Project) -> list:  # noqa: ANN202
    from radcurate.engine.training import registry

    return registry.models(project.db)
