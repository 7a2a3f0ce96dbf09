"""The project folder and the façade the CLI and the desktop use (they never reach past it).

A project is a folder::

    radcurate.toml   settings (engine/settings.py)
    radcurate.db     the store: the single source of truth (SQLite, WAL)
    cache/           preprocessed arrays keyed by volume checksum + preprocessing hash
    models/          trained models and their files
    exports/         ONNX bundles and curated datasets
    quarantine/      copies/notes of quarantined inputs when useful

``Project`` is thread-safe for the desktop's use: each thread gets its own SQLite connection.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from radcurate.engine import settings as settings_mod
from radcurate.engine.contracts.labels import Decision, SilverLabel
from radcurate.engine.errors import InputError, StoreError
from radcurate.engine.files import atomic
from radcurate.engine.ingest import imports as ingest
from radcurate.engine.ingest.imports import ImportSummary
from radcurate.engine.jobs import launch as job_launch
from radcurate.engine.jobs import records as jobs_mod
from radcurate.engine.store import decisions, migrations, quarantine, studies
from radcurate.engine.store import labels as label_store
from radcurate.engine.store.database import connect
from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.engine.volumes import preprocessing
from radcurate.engine.volumes.volume import Volume

SETTINGS_FILE = "radcurate.toml"
DATABASE_FILE = "radcurate.db"
FOLDERS = ("cache", "models", "exports", "quarantine")


@dataclass(frozen=True)
class WorklistEntry:
    """One study in a reader's worklist."""

    study_id: str
    position: int
    status: str  # unreviewed | in_progress | done
    decided: int
    findings: int
    priority: float | None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Project:
    """An open project. Make one with :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, settings: settings_mod.Settings):
        self.path = path
        self.settings = settings
        self._local = threading.local()
        self._vocabulary: Vocabulary | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, path: str | Path, *, vocabulary: Vocabulary | None = None, preset: str = "paper") -> Project:
        """Make a new project folder (which may exist but must not hold a project already)."""
        path = Path(path).expanduser().resolve()
        if (path / DATABASE_FILE).exists() or (path / SETTINGS_FILE).exists():
            raise InputError("a radcurate project already exists here", path=path)
        if path.exists() and not path.is_dir():
            raise InputError("exists and is not a folder", path=path)
        chosen = settings_mod.preset(preset)
        vocabulary = vocabulary or Vocabulary.default()
        path.mkdir(parents=True, exist_ok=True)
        for folder in FOLDERS:
            (path / folder).mkdir(exist_ok=True)
        db = connect(path / DATABASE_FILE, create=True)
        migrations.apply(db)
        with decisions.write_transaction(db) as conn:
            conn.executemany(
                "INSERT INTO findings (name, position) VALUES (?, ?)", [(name, i) for i, name in enumerate(vocabulary)]
            )
        db.conn.close()
        atomic.write_text(path / SETTINGS_FILE, settings_mod.render(chosen))
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path) -> Project:
        """Open an existing project, upgrading its schema if it was made by an older radcurate."""
        path = Path(path).expanduser().resolve()
        if not (path / DATABASE_FILE).exists():
            raise InputError("not a radcurate project (no radcurate.db; run `radcurate init` first)", path=path)
        project = cls(path, settings_mod.load(path / SETTINGS_FILE))
        db = project.db
        known = {m.name for m in migrations.migrations._migrations}
        unknown = [m.name for m in migrations.migrations.applied(db) if m.name not in known]
        if unknown:
            raise StoreError(f"{path}: made by a newer radcurate (schema {', '.join(unknown)}); upgrade radcurate")
        migrations.apply(db)
        for folder in FOLDERS:
            (path / folder).mkdir(exist_ok=True)
        return project

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (SQLite connections must not be shared across threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path / DATABASE_FILE)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            names = [r[0] for r in self.db.execute("SELECT name FROM findings ORDER BY position").fetchall()]
            self._vocabulary = Vocabulary.from_names(names)
        return self._vocabulary

    # ------------------------------------------------------------------ counts
    def status(self) -> dict[str, Any]:
        """Counts of everything in the project (the ``status --json`` document)."""
        db = self.db

        def count(table: str) -> int:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        labels = {
            src: n
            for src, n in db.execute(
                "SELECT source, count(*) FROM silver_labels GROUP BY source ORDER BY source"
            ).fetchall()
        }
        reviewed = db.execute("SELECT count(DISTINCT study_id) FROM gold_labels").fetchone()[0]
        return {
            "studies": count("studies"),
            "series": count("series"),
            "reports": count("reports"),
            "labels": labels,
            "decisions": count("decisions"),
            "reviewed_studies": int(reviewed),
            "quarantined": count("quarantine"),
            "models": count("models"),
            "jobs": count("jobs"),
            "findings": len(self.vocabulary),
            "schema_version": migrations.schema_version(db),
            "path": str(self.path),
        }

    # ------------------------------------------------------------------ studies & reports
    def study_ids(self) -> list[str]:
        return studies.study_ids(self.db)

    def report(self, study_id: str) -> studies.Report | None:
        return studies.report_for(self.db, study_id)

    def series(self, study_id: str) -> list[studies.SeriesRecord]:
        return studies.series_for(self.db, study_id)

    def worklist(self, *, reader: str) -> list[WorklistEntry]:
        """Studies with the reader's review status, highest priority first.

        Priority is the review-ranking score when a model has scored the study (higher = more
        likely a silver-label error), else import order.
        """
        n_findings = len(self.vocabulary)
        decided = dict(
            self.db.execute(
                "SELECT study_id, count(*) FROM gold_labels WHERE reader = ? GROUP BY study_id", [reader]
            ).fetchall()
        )
        rows = self.db.execute("SELECT id, position FROM studies ORDER BY position").fetchall()
        entries = []
        for study_id, position in rows:
            n = int(decided.get(study_id, 0))
            state = "done" if n >= n_findings else "in_progress" if n else "unreviewed"
            entries.append(WorklistEntry(study_id, int(position), state, n, n_findings, None))
        return entries

    def scores(self, study_id: str) -> dict[str, float]:
        """The newest model's score per finding for one study (empty until a model has scored it)."""
        rows = self.db.execute(
            "SELECT finding, score FROM scores WHERE study_id = ? AND model_id = "
            "(SELECT max(model_id) FROM scores WHERE study_id = ?)",
            [study_id, study_id],
        ).fetchall()
        return {f: float(v) for f, v in rows}

    # ------------------------------------------------------------------ decisions
    def _resolve_states(self, states: Mapping[str, LabelState | str]) -> dict[str, LabelState]:
        vocab = self.vocabulary
        return {vocab.resolve(f): LabelState.parse(s) if isinstance(s, str) else s for f, s in states.items()}

    def decide(
        self, study_id: str, finding: str, state: LabelState | str, *, reader: str, note: str | None = None
    ) -> Decision:
        """Record one committed decision; returns only after the commit."""
        resolved = self._resolve_states({finding: state})
        return decisions.record(self.db, study_id, resolved, reader=reader, note=note)[0]

    def confirm(self, study_id: str, shown: Mapping[str, LabelState | str], *, reader: str) -> list[Decision]:
        """Record the shown state for every finding the reader has not decided yet (one action)."""
        resolved = self._resolve_states(shown)
        decided = self.gold(study_id, reader=reader)
        pending = {f: s for f, s in resolved.items() if f not in decided}
        if not pending:
            return []
        return decisions.record(self.db, study_id, pending, reader=reader, kind="confirm")

    def undo(self, *, reader: str, study_id: str | None = None) -> list[Decision]:
        """Revert the reader's latest action (in ``study_id`` if given) with a new audited action."""
        return decisions.undo(self.db, reader=reader, study_id=study_id)

    def history(self, study_id: str | None = None, reader: str | None = None) -> list[Decision]:
        if study_id is not None and not studies.study_exists(self.db, study_id):
            raise InputError(f"no study {study_id!r} in this project", field="study")
        return decisions.history(self.db, study_id, reader)

    def gold(self, study_id: str, *, reader: str) -> dict[str, LabelState]:
        """The reader's current decision per finding for one study (undecided findings omitted)."""
        return decisions.gold(self.db, study_id, reader).get(reader, {})

    # ------------------------------------------------------------------ quarantine
    def quarantine(self, stage: str | None = None) -> list[quarantine.QuarantineRecord]:
        return quarantine.records(self.db, stage)

    # ---- ingest (engine/ingest.py, engine/preprocessing.py)
    def import_paths(
        self,
        paths: Sequence[str | Path],
        *,
        reports: Sequence[str | Path] = (),
        id_column: str | None = None,
        text_column: str | None = None,
        progress: ingest.Progress | None = None,
    ) -> ImportSummary:
        """Import volumes and reports; bad items go to quarantine (see :func:`ingest.import_paths`)."""
        return ingest.import_paths(
            self.db, paths, reports=reports, id_column=id_column, text_column=text_column, progress=progress
        )

    def load_volume(self, series_id: str) -> Volume:
        """Decode a stored series from its files again; InputError if they are gone or changed."""
        return ingest.load_volume(self.db, series_id)

    def preprocessed(self, series_id: str, *, train: bool = False, seed: int | None = None) -> np.ndarray:
        """The series' network input (settings.preprocessing) through ``cache/``; a hit reads no DICOM."""
        record = studies.get_series(self.db, series_id)
        return preprocessing.preprocessed(
            self.path / "cache",
            record.checksum,
            self.settings.preprocessing,
            lambda: self.load_volume(series_id),
            train=train,
            seed=seed,
        )

    # ---- labels & extraction (engine/store/labels.py, engine/extraction/, engine/jobs.py)
    def label_sources(self, kind: str | None = None) -> list[label_store.LabelSource]:
        """Label sources (extractor runs and imported references), most recently run first."""
        return label_store.sources(self.db, kind)

    def silver(self, study_id: str, source: str | None = None) -> dict[str, SilverLabel]:
        """One study's silver labels by finding, in vocabulary order (empty if none).

        ``source`` defaults to the most recently run extractor source that has labels for the study.
        """
        if source is None:
            source = label_store.latest_extractor_source(self.db, study_id)
            if source is None:
                return {}
        return label_store.labels_for(self.db, study_id, source)

    def extract(
        self,
        extractor: str = "rules",
        *,
        source: str | None = None,
        limit: int | None = None,
        batch: bool = False,
        job_id: int | None = None,
        params: Mapping[str, Any] | None = None,
        on_progress: Any = None,
        **options: Any,
    ) -> Any:
        """Run an extractor over the pending reports as a job (see engine/extraction/runner.py).

        ``options`` override the extractor's settings (``model``, ``base_url``, ``concurrency`` ...).
        Returns an :class:`~radcurate.engine.extraction.summary.ExtractionSummary`.
        """
        from radcurate.engine.extraction import runner

        plugin = runner.make_extractor(self, extractor, **options)
        return runner.run_extraction(
            self, plugin, source=source, limit=limit, batch=batch, job_id=job_id, params=params, on_progress=on_progress
        )

    def import_labels(self, file: str | Path, *, source: str, id_column: str | None = None) -> Any:
        """Import another labeller's labels as reference source ``source`` (engine/extraction/reference.py)."""
        from radcurate.engine.extraction.reference import import_labels

        return import_labels(self, file, source=source, id_column=id_column)

    def agreement(self, reference: str, candidate: str | None = None) -> Any:
        """Per-finding precision/recall/F1/κ of ``candidate`` against ``reference`` (an Agreement)."""
        from radcurate.engine.extraction.agreement import agreement

        return agreement(self, reference, candidate)

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
