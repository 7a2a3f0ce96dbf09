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

import threading
from collections.abc import Mapping, Sequence
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
from radcurate.engine.project.flags import CaseFlagsMixin
from radcurate.engine.project.pacs import PacsMixin
from radcurate.engine.project.running import RunningMixin
from radcurate.engine.project.worklists import WorklistMixin
from radcurate.engine.review import consensus, silver
from radcurate.engine.store import database, decisions, label_listing, migrations, quarantine, studies, summary
from radcurate.engine.store import labels as label_store
from radcurate.engine.store.database import connect
from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.engine.volumes import preprocessing
from radcurate.engine.volumes.volume import Volume

SETTINGS_FILE = "radcurate.toml"
DATABASE_FILE = "radcurate.db"
FOLDERS = ("cache", "models", "exports", "quarantine")


class Project(RunningMixin, WorklistMixin, PacsMixin, CaseFlagsMixin):
    """An open project. Make one with :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, settings: settings_mod.Settings):
        self.path = path
        self.settings = settings
        self._local = threading.local()
        self._vocabulary: Vocabulary | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, path: str | Path, *, vocabulary: Vocabulary | None = None, preset: str = "paper") -> Project:
        """Make a new project folder (which may exist but must not hold a project already).

        An existing ``radcurate.db`` — a project, an empty file, another program's database — is
        refused and left untouched. The database is built under a temporary name and renamed into
        place last (engine/store/database.py), so a kill mid-way leaves no ``radcurate.db``:
        ``open`` says to run ``init``, and ``init`` finishes the job.
        """
        path = Path(path).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise InputError("exists and is not a folder", path=path)
        db_file = path / DATABASE_FILE
        if db_file.exists() or db_file.is_symlink():
            problem = database.file_problem(db_file)
            raise InputError(problem or "a radcurate project already exists here", path=db_file if problem else path)
        if (path / SETTINGS_FILE).exists() and not database.has_partial(db_file):
            raise InputError(f"{SETTINGS_FILE} is here without {DATABASE_FILE}: move it aside first", path=path)
        chosen = settings_mod.preset(preset)
        vocabulary = vocabulary or Vocabulary.default()
        path.mkdir(parents=True, exist_ok=True)
        for folder in FOLDERS:
            (path / folder).mkdir(exist_ok=True)

        def fill(db: sqlite_utils.Database) -> None:
            migrations.apply(db)
            with decisions.write_transaction(db) as conn:
                rows = [(name, i) for i, name in enumerate(vocabulary)]
                conn.executemany("INSERT INTO findings (name, position) VALUES (?, ?)", rows)

        built = database.build_aside(db_file, fill)
        atomic.write_text(path / SETTINGS_FILE, settings_mod.render(chosen))
        database.put_in_place(built, db_file)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path) -> Project:
        """Open an existing project, upgrading its schema if it was made by an older radcurate."""
        path = Path(path).expanduser().resolve()
        if not (path / DATABASE_FILE).exists():
            todo = "run `radcurate init` first"
            if database.has_partial(path / DATABASE_FILE):
                todo = "an init was interrupted: run `radcurate init` again"
            raise InputError(f"not a radcurate project (no radcurate.db; {todo})", path=path)
        db = connect(path / DATABASE_FILE)  # first: a file that is no radcurate store is named as such
        try:
            project = cls(path, settings_mod.load(path / SETTINGS_FILE))
            project._local.db = db
            known = {m.name for m in migrations.migrations._migrations}
            unknown = [m.name for m in migrations.migrations.applied(db) if m.name not in known]
            if unknown:
                raise StoreError(f"{path}: made by a newer radcurate (schema {', '.join(unknown)}); upgrade radcurate")
            migrations.apply(db)
        except BaseException:
            db.conn.close()
            raise
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
        return {
            **summary.counts(self.db),
            "unresolved": self._unresolved(),  # stored with the priorities (engine/review/priorities.py)
            "findings": len(self.vocabulary),
            "path": str(self.path),
        }

    # ------------------------------------------------------------------ studies & reports
    def study_ids(self) -> list[str]:
        return studies.study_ids(self.db)

    def report(self, study_id: str) -> studies.Report | None:
        return studies.report_for(self.db, study_id)

    def series(self, study_id: str) -> list[studies.SeriesRecord]:
        return studies.series_for(self.db, study_id)

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
        self,
        study_id: str,
        finding: str,
        state: LabelState | str,
        *,
        reader: str,
        note: str | None = None,
        series_id: str | None = None,
    ) -> Decision:
        """Record one committed decision; returns only after the commit.

        The decision is stamped with the sha256 of the report text as it is now and ``series_id``,
        the series shown (default: the study's only series).
        """
        resolved = self._resolve_states({finding: state})
        # The study's stored priority is refreshed by the next read (a trigger marked it): the
        # reader's key waits only for the decision's own commit (engine/review/priorities.py).
        return decisions.record(self.db, study_id, resolved, reader=reader, note=note, series_id=series_id)[0]

    def confirm(
        self,
        study_id: str,
        shown: Mapping[str, LabelState | str],
        *,
        reader: str,
        series_id: str | None = None,
    ) -> list[Decision]:
        """Record the shown state for every finding the reader has not decided yet (one action)."""
        resolved = self._resolve_states(shown)
        decided = self.gold(study_id, reader=reader)
        pending = {f: s for f, s in resolved.items() if f not in decided}
        if not pending:
            return []
        return decisions.record(self.db, study_id, pending, reader=reader, kind="confirm", series_id=series_id)

    def adjudicate(
        self, study_id: str, finding: str, state: LabelState | str, *, reader: str, note: str | None = None
    ) -> Decision:
        """Record an adjudicator's decision: it settles readers' disagreement (engine/review/consensus.py)."""
        resolved = self._resolve_states({finding: state})
        return decisions.record(self.db, study_id, resolved, reader=reader, kind="adjudicate", note=note)[0]

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

    def preprocessed(
        self,
        series_id: str,
        *,
        train: bool = False,
        seed: int | None = None,
        jitter: tuple[int, int, int] | None = None,
    ) -> np.ndarray:
        """The series' network input (settings.preprocessing) through ``cache/``; a hit reads no DICOM.

        ``train``: a random crop seeded with ``seed``, within ``jitter`` voxels of the centre (None: anywhere).
        """
        record = studies.get_series(self.db, series_id)
        return preprocessing.preprocessed(
            self.path / "cache",
            record.checksum,
            self.settings.preprocessing,
            lambda: self.load_volume(series_id),
            train=train,
            seed=seed,
            jitter=jitter,
        )

    # ---- labels & extraction (engine/store/labels.py, engine/extraction/, engine/jobs.py)
    def label_sources(self, kind: str | None = None) -> list[label_store.LabelSource]:
        """Label sources (extractor runs and imported references), most recently run first."""
        return label_store.sources(self.db, kind)

    def silver(self, study_id: str, source: str | None = None) -> dict[str, SilverLabel]:
        """One study's current silver labels by finding, in vocabulary order (empty if none).

        ``source`` defaults to the shown source (engine/review/silver.py: the most recently run
        extractor with current labels for the study).
        """
        if source is None:
            return silver.shown_silver(self.db, study_id)[0]
        return label_store.labels_for(self.db, study_id, source)

    def shown_silver(self, study_id: str) -> tuple[dict[str, SilverLabel], str | None]:
        """(the labels a reader is shown for the study, their source) — the one rule for every view."""
        return silver.shown_silver(self.db, study_id)

    def labels(self, *, source: str | None = None, study_id: str | None = None) -> list[label_listing.StoredLabel]:
        """Every stored label, current and stale, with its provenance (``radcurate labels``)."""
        if study_id is not None and not studies.study_exists(self.db, study_id):
            raise InputError(f"no study {study_id!r} in this project", field="study")
        if source is not None:
            label_store.get_source(self.db, source)  # a clear error naming the known sources
        return label_listing.stored_labels(self.db, source=source, study_id=study_id)

    def project_labels(self) -> dict[str, dict[str, consensus.ProjectLabel]]:
        """Each study's label per finding: the project's gold (adjudicated / agreed) else the shown
        silver; unresolved disagreements carry no state (engine/review/consensus.py)."""
        return consensus.effective_labels(self.db, self.vocabulary)

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
        refresh: bool = False,
        **options: Any,
    ) -> Any:
        """Run an extractor over the pending reports as a job (see engine/extraction/runner.py).

        ``options`` override the extractor's settings (``model``, ``base_url``, ``concurrency`` ...).
        Returns an :class:`~radcurate.engine.extraction.summary.ExtractionSummary`.
        """
        from radcurate.engine.extraction import runner

        plugin = runner.make_extractor(self, extractor, **options)
        summary = runner.run_extraction(
            self,
            plugin,
            source=source,
            limit=limit,
            batch=batch,
            job_id=job_id,
            params=params,
            on_progress=on_progress,
            refresh=refresh,
        )
        self.refresh_priorities()  # the labels changed: store the studies' new priorities now
        return summary

    def import_labels(self, file: str | Path, *, source: str, id_column: str | None = None) -> Any:
        """Import another labeller's labels as reference source ``source`` (engine/extraction/reference.py)."""
        from radcurate.engine.extraction.reference import import_labels

        return import_labels(self, file, source=source, id_column=id_column)

    def agreement(self, reference: str, candidate: str | None = None) -> Any:
        """Per-finding precision/recall/F1/κ of ``candidate`` against ``reference`` (an Agreement)."""
        from radcurate.engine.extraction.agreement import agreement

        return agreement(self, reference, candidate)
