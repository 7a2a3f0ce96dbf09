"""The PACS import as a background job (what the desktop starts): a detached subprocess, recorded progress."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from radcurate.engine.project import Project
from tests.plugins.pacs.conftest import PacsCorpus


@pytest.mark.slow
def test_a_pacs_import_job_fills_the_project_in_the_background(
    tmp_path: Path, pacs: PacsCorpus, pacs_env: None
) -> None:
    with Project.create(tmp_path / "p", preset="demo") as project:
        study = pacs.study_uids["dcmqi"]
        job = project.start_pacs_import(pacs.server.dicomweb_url, studies=[study])
        assert job.kind == "pacs-import" and pacs.server.dicomweb_url == job.params["url"]
        deadline = time.monotonic() + 180
        while not project.job(job.id).finished and time.monotonic() < deadline:
            time.sleep(0.5)
        done = project.job(job.id)
        assert done.status == "done", (done.error, (project.path / "logs" / f"job-{job.id}.log").read_text())
        assert (done.progress, done.total) == (1, 1) and "1 fetched" in (done.message or "")
        assert [s.id for s in project.series("03086212")] and project.pacs_fetch_counts()["complete"] == 1
        assert "PASSWORD" not in str(done.params) and "password" not in str(done.params).lower()
