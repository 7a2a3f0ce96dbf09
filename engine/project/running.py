"""The façade's long-running half: jobs, triage, other readers and models (split from core.py).

A mixin so that :class:`~radcurate.engine.project.core.Project` stays one class for its callers
while each file stays small; it relies on ``self.db``, ``self.path`` and ``self.series``/
``self.load_volume`` from the core.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from radcurate.engine.errors import InputError
from radcurate.engine.jobs import launch as job_launch
from radcurate.engine.jobs import records as jobs_mod
from radcurate.engine.vocabulary import LabelState

if TYPE_CHECKING:
    from radcurate.engine.store import studies
    from radcurate.engine.volumes.volume import Volume


class RunningMixin:
    """Jobs, triage, other readers' decisions and registered models of a project."""

    path: Path

    @property
    def db(self) -> sqlite_utils.Database:  # provided by Project
        raise NotImplementedError

    def series(self, study_id: str) -> list[studies.SeriesRecord]:  # provided by Project
        raise NotImplementedError

    def load_volume(self, series_id: str) -> Volume:  # provided by Project
        raise NotImplementedError

    def jobs(self, kind: str | None = None) -> list[jobs_mod.Job]:
        """Jobs newest first (dead workers are marked ``interrupted`` on the way)."""
        return jobs_mod.list_jobs(self.db, kind=kind)

    def job(self, job_id: int) -> jobs_mod.Job:
        return jobs_mod.get(self.db, job_id)

    def start_job(self, command: str, params: Mapping[str, Any] | None = None) -> jobs_mod.Job:
        """Start ``radcurate COMMAND`` on this project as a background job (a detached subprocess).

        ``params`` become the command's options (``{"extractor": "llm", "limit": 100}`` →
        ``--extractor llm --limit 100``). Returns at once with the queued job; poll :meth:`job`.
        """
        return job_launch.launch(self.db, self.path, command, params)

    def cancel_job(self, job_id: int) -> jobs_mod.Job:
        """Ask a job to stop at its next safe point (committed work stays)."""
        return jobs_mod.cancel(self.db, job_id)

    def resume_job(self, job_id: int) -> jobs_mod.Job:
        """Start a failed, cancelled or interrupted job again with the same parameters."""
        return job_launch.resume(self.db, self.path, job_id)

    # ---- triage (engine/triage/: onnxruntime + numpy, no torch)
    def triage(self, study_id: str, *, bundle: str | Path, queries: Sequence[str] = ()) -> dict[str, float]:
        """Scores of the study's first series with a verified bundle, plus free-text ``queries``."""
        from radcurate.engine.triage.run import score_volume

        series = self.series(study_id)
        if not series:
            raise InputError(f"study {study_id!r} has no image series to score", field="study")
        return score_volume(bundle, self.load_volume(series[0].id), queries)

    # ---- review app (engine/review/other_readers.py)
    def other_readers(self, study_id: str, *, reader: str) -> dict[str, dict[str, LabelState]]:
        """Other readers' decisions, only on the findings ``reader`` decided (blind before, shown after)."""
        from radcurate.engine.review.other_readers import after_deciding

        return after_deciding(self.db, study_id, reader)

    # ---- learning (engine/training/)
    def load_model(self, model: int | str) -> Any:
        """A registered model by id or version, sha256-checked and rebuilt (engine/training/model_files.py)."""
        from radcurate.engine.training import model_files

        return model_files.load(self, model)
