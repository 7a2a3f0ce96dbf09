"""Numbered schema migrations (sqlite-utils ``Migrations``), oldest first, never edited once shipped.

A project made by any earlier radcurate is upgraded in place when opened; each migration runs in
a transaction with its record, so a crash mid-upgrade leaves the previous version intact.
Tests upgrade a version-1 database (``tests/engine/test_migrations.py``).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("radcurate")

STATES = "('present', 'absent', 'uncertain', 'not_mentioned')"


@migrations(name="m001_core")
def m001_core(db: sqlite_utils.Database) -> None:
    """Studies, series, reports, the vocabulary, append-only decisions and quarantine."""
    db.executescript(
        f"""
        CREATE TABLE studies (
            id TEXT PRIMARY KEY,
            position INTEGER NOT NULL,            -- import order, the default worklist order
            created_at TEXT NOT NULL
        );
        CREATE TABLE series (
            id TEXT PRIMARY KEY,                  -- sha256 of the sorted file checksums (16 hex)
            study_id TEXT NOT NULL REFERENCES studies(id),
            loader TEXT NOT NULL,
            series_key TEXT NOT NULL,
            files TEXT NOT NULL,                  -- JSON list of absolute paths
            shape TEXT NOT NULL,                  -- JSON [X, Y, Z]
            spacing TEXT NOT NULL,                -- JSON mm along X, Y, Z
            affine TEXT NOT NULL,                 -- JSON 4x4 voxel -> LPS mm
            orientation TEXT NOT NULL,
            modality TEXT NOT NULL,
            hu_min REAL, hu_max REAL,
            checksum TEXT NOT NULL,               -- content checksum of the voxels + geometry
            metadata TEXT NOT NULL DEFAULT '{{}}',
            imported_at TEXT NOT NULL
        );
        CREATE INDEX series_study ON series(study_id);
        CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            study_id TEXT NOT NULL REFERENCES studies(id),
            text TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            source TEXT,
            imported_at TEXT NOT NULL
        );
        CREATE INDEX reports_study ON reports(study_id);
        CREATE TABLE findings (
            name TEXT PRIMARY KEY,
            position INTEGER NOT NULL UNIQUE
        );
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action INTEGER NOT NULL,              -- decisions made by one keystroke share it
            study_id TEXT NOT NULL REFERENCES studies(id),
            finding TEXT NOT NULL REFERENCES findings(name),
            reader TEXT NOT NULL CHECK (length(trim(reader)) > 0),
            state TEXT CHECK (state IS NULL OR state IN {STATES}),   -- NULL: retracted by undo
            previous_state TEXT CHECK (previous_state IS NULL OR previous_state IN {STATES}),
            kind TEXT NOT NULL CHECK (kind IN ('decide', 'confirm', 'undo')),
            undoes INTEGER REFERENCES decisions(id),
            note TEXT,
            decided_at TEXT NOT NULL
        );
        CREATE INDEX decisions_key ON decisions(study_id, finding, reader, id);
        CREATE INDEX decisions_reader ON decisions(reader, id);
        CREATE INDEX decisions_undoes ON decisions(undoes);
        CREATE INDEX decisions_action ON decisions(action);
        CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: UPDATE refused'); END;
        CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: DELETE refused'); END;
        CREATE VIEW gold_labels AS
            SELECT d.study_id, d.finding, d.reader, d.state, d.decided_at, d.id AS decision_id
            FROM decisions d
            WHERE d.id = (SELECT max(d2.id) FROM decisions d2
                          WHERE d2.study_id = d.study_id AND d2.finding = d.finding
                            AND d2.reader = d.reader)
              AND d.state IS NOT NULL;
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL,
            field TEXT,
            reason TEXT NOT NULL,
            stage TEXT NOT NULL,                  -- import | reports | extraction | labels ...
            time TEXT NOT NULL
        );
        """
    )


@migrations(name="m002_labels")
def m002_labels(db: sqlite_utils.Database) -> None:
    """Label sources (extractors and reference labellers), silver labels, the LLM answer cache."""
    db.executescript(
        f"""
        CREATE TABLE label_sources (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('extractor', 'reference')),
            plugin TEXT,
            version TEXT,
            details TEXT NOT NULL DEFAULT '{{}}', -- JSON: model, prompt hash, file... never secrets
            created_at TEXT NOT NULL
        );
        CREATE TABLE silver_labels (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            study_id TEXT NOT NULL REFERENCES studies(id),
            source TEXT NOT NULL REFERENCES label_sources(name),
            finding TEXT NOT NULL REFERENCES findings(name),
            state TEXT NOT NULL CHECK (state IN {STATES}),
            evidence TEXT,
            start INTEGER,
            end INTEGER,
            confidence REAL,
            flags TEXT NOT NULL DEFAULT '[]',
            extractor_version TEXT,
            prompt_hash TEXT,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (study_id, source, finding)
        );
        CREATE INDEX silver_source ON silver_labels(source, study_id);
        CREATE TABLE llm_cache (
            key TEXT PRIMARY KEY,                 -- sha256(report sha256, model, prompt hash)
            report_sha256 TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_hash TEXT NOT NULL,
            answer TEXT NOT NULL,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        """
    )


@migrations(name="m003_learning")
def m003_learning(db: sqlite_utils.Database) -> None:
    """Jobs, the model registry and per-study model scores."""
    db.executescript(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
            params TEXT NOT NULL DEFAULT '{}',
            progress INTEGER NOT NULL DEFAULT 0,
            total INTEGER,
            message TEXT,
            pid INTEGER,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            error TEXT
        );
        CREATE TABLE models (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            version TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            parent INTEGER REFERENCES models(id),
            metrics TEXT NOT NULL DEFAULT '{}',
            label_snapshot TEXT NOT NULL,         -- hash of the labels it was trained on
            files TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        );
        CREATE TABLE scores (
            model_id INTEGER NOT NULL REFERENCES models(id),
            study_id TEXT NOT NULL REFERENCES studies(id),
            finding TEXT NOT NULL REFERENCES findings(name),
            score REAL NOT NULL,
            PRIMARY KEY (model_id, study_id, finding)
        );
        """
    )


@migrations(name="m004_provenance")
def m004_provenance(db: sqlite_utils.Database) -> None:
    """Every silver label and decision records the report text (sha256) it was made against.

    A re-imported report whose text changed keeps the old labels and decisions but makes them
    stale: the gold view and "already labelled" compare hashes, never timestamps. A report text
    that is replaced moves to ``report_versions`` (the current one lives in ``reports`` only), so a
    stale label's evidence offsets still point into its text.
    Existing rows are stamped with the study's current report hash (they were made against it or
    against nothing). Decisions also record the series shown (``series_id``; NULL where unknown).
    """
    db.executescript(
        f"""
        CREATE TABLE report_versions (
            study_id TEXT NOT NULL REFERENCES studies(id),
            sha256 TEXT NOT NULL,
            text TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            PRIMARY KEY (study_id, sha256)
        );
        CREATE TABLE silver_labels_v2 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            study_id TEXT NOT NULL REFERENCES studies(id),
            source TEXT NOT NULL REFERENCES label_sources(name),
            finding TEXT NOT NULL REFERENCES findings(name),
            state TEXT NOT NULL CHECK (state IN {STATES}),
            evidence TEXT,
            start INTEGER,
            end INTEGER,
            confidence REAL,
            flags TEXT NOT NULL DEFAULT '[]',
            extractor_version TEXT,
            prompt_hash TEXT,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            report_sha256 TEXT,                    -- the report text labelled (NULL: no report)
            UNIQUE (study_id, source, finding, report_sha256)
        );
        INSERT INTO silver_labels_v2 (id, study_id, source, finding, state, evidence, start, end, confidence,
                flags, extractor_version, prompt_hash, tokens_in, tokens_out, cost_usd, created_at, report_sha256)
            SELECT l.id, l.study_id, l.source, l.finding, l.state, l.evidence, l.start, l.end, l.confidence,
                   l.flags, l.extractor_version, l.prompt_hash, l.tokens_in, l.tokens_out, l.cost_usd, l.created_at,
                   (SELECT r.sha256 FROM reports r WHERE r.id = l.study_id)
            FROM silver_labels l;
        DROP TABLE silver_labels;
        ALTER TABLE silver_labels_v2 RENAME TO silver_labels;
        CREATE INDEX silver_source ON silver_labels(source, study_id);

        DROP TRIGGER decisions_append_only_update;
        ALTER TABLE decisions ADD COLUMN report_sha256 TEXT;
        ALTER TABLE decisions ADD COLUMN series_id TEXT;
        UPDATE decisions SET report_sha256 = (SELECT r.sha256 FROM reports r WHERE r.id = decisions.study_id);
        CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: UPDATE refused'); END;

        DROP VIEW gold_labels;
        CREATE VIEW gold_labels AS
            SELECT d.study_id, d.finding, d.reader, d.state, d.decided_at, d.id AS decision_id,
                   d.report_sha256, d.series_id
            FROM decisions d
            WHERE d.id = (SELECT max(d2.id) FROM decisions d2
                          WHERE d2.study_id = d.study_id AND d2.finding = d.finding
                            AND d2.reader = d.reader AND d2.report_sha256 IS d.report_sha256)
              AND d.state IS NOT NULL
              AND d.report_sha256 IS (SELECT r.sha256 FROM reports r WHERE r.id = d.study_id);
        """
    )


@migrations(name="m008_quarantine_dedupe")
def m008_quarantine_dedupe(db: sqlite_utils.Database) -> None:
    """One quarantine record per problem (path, field, reason, stage), with how often and when it was
    last met: earlier releases added a row each time a rerun met the same bad answer or file.
    Duplicates collapse into their oldest record (``seen`` = how many there were)."""
    same = (
        "q2.path = quarantine.path AND coalesce(q2.field, '') = coalesce(quarantine.field, '') "
        "AND q2.reason = quarantine.reason AND q2.stage = quarantine.stage"
    )
    db.executescript(
        f"""
        ALTER TABLE quarantine ADD COLUMN seen INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE quarantine ADD COLUMN last_seen TEXT;
        UPDATE quarantine SET
            seen = (SELECT count(*) FROM quarantine q2 WHERE {same}),
            last_seen = (SELECT max(q2.time) FROM quarantine q2 WHERE {same});
        DELETE FROM quarantine WHERE id > (SELECT min(q2.id) FROM quarantine q2 WHERE {same});
        CREATE UNIQUE INDEX IF NOT EXISTS quarantine_problem
            ON quarantine(path, coalesce(field, ''), reason, stage);
        """
    )


@migrations(name="m006_curate")
def m006_curate(db: sqlite_utils.Database) -> None:
    """Decisions may be of kind ``adjudicate`` (an adjudicator settles readers' disagreement).

    SQLite cannot alter a CHECK, so ``decisions`` is rebuilt with every row, column (``report_sha256``
    and ``series_id`` from m004), index and both append-only triggers; the view and triggers are
    dropped first and the old table renamed aside before the copy, so its self-reference
    (``undoes``) and the foreign keys stay valid throughout (``foreign_keys`` is on and cannot be
    switched off inside the migration's transaction). ``gold_labels`` is recreated exactly as m004
    defines it.
    """
    db.executescript(
        f"""
        DROP VIEW gold_labels;
        DROP TRIGGER decisions_append_only_update;
        DROP TRIGGER decisions_append_only_delete;
        DROP INDEX decisions_key;
        DROP INDEX decisions_reader;
        DROP INDEX decisions_undoes;
        DROP INDEX decisions_action;
        ALTER TABLE decisions RENAME TO decisions_m005;
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action INTEGER NOT NULL,              -- decisions made by one keystroke share it
            study_id TEXT NOT NULL REFERENCES studies(id),
            finding TEXT NOT NULL REFERENCES findings(name),
            reader TEXT NOT NULL CHECK (length(trim(reader)) > 0),
            state TEXT CHECK (state IS NULL OR state IN {STATES}),   -- NULL: retracted by undo
            previous_state TEXT CHECK (previous_state IS NULL OR previous_state IN {STATES}),
            kind TEXT NOT NULL CHECK (kind IN ('decide', 'confirm', 'undo', 'adjudicate')),
            undoes INTEGER REFERENCES decisions(id),
            note TEXT,
            decided_at TEXT NOT NULL,
            report_sha256 TEXT,
            series_id TEXT
        );
        INSERT INTO decisions (id, action, study_id, finding, reader, state, previous_state, kind, undoes, note,
                decided_at, report_sha256, series_id)
            SELECT id, action, study_id, finding, reader, state, previous_state, kind, undoes, note,
                   decided_at, report_sha256, series_id
            FROM decisions_m005 ORDER BY id;
        DROP TABLE decisions_m005;
        CREATE INDEX decisions_key ON decisions(study_id, finding, reader, id);
        CREATE INDEX decisions_reader ON decisions(reader, id);
        CREATE INDEX decisions_undoes ON decisions(undoes);
        CREATE INDEX decisions_action ON decisions(action);
        CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: UPDATE refused'); END;
        CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: DELETE refused'); END;
        CREATE VIEW gold_labels AS
            SELECT d.study_id, d.finding, d.reader, d.state, d.decided_at, d.id AS decision_id,
                   d.report_sha256, d.series_id
            FROM decisions d
            WHERE d.id = (SELECT max(d2.id) FROM decisions d2
                          WHERE d2.study_id = d.study_id AND d2.finding = d.finding
                            AND d2.reader = d.reader AND d2.report_sha256 IS d.report_sha256)
              AND d.state IS NOT NULL
              AND d.report_sha256 IS (SELECT r.sha256 FROM reports r WHERE r.id = d.study_id);
        """
    )


@migrations(name="m005_learning")
def m005_learning(db: sqlite_utils.Database) -> None:
    """The recorded patient-level split, and what the model registry keeps beyond m003.

    ``splits``: one row per study, drawn once per project (engine/training/splits.py) and then
    fixed, so a study never moves from test to train when labels or studies are added.
    ``models`` gains the start mode (supervised: ``scratch``; CLIP: ``scratch``/``init``/``locked``;
    probe: ``probe``), the settings it trained with (JSON), the job that made it, and its status.
    """
    db.executescript(
        """
        CREATE TABLE splits (
            study_id TEXT PRIMARY KEY REFERENCES studies(id),
            patient TEXT NOT NULL,                -- DICOM PatientID where known, else the study id
            split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
            assigned_at TEXT NOT NULL
        );
        ALTER TABLE models ADD COLUMN start TEXT NOT NULL DEFAULT 'scratch';
        ALTER TABLE models ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE models ADD COLUMN job_id INTEGER;
        CREATE INDEX scores_study ON scores(study_id, model_id);
        """
    )


@migrations(name="m009_scale")
def m009_scale(db: sqlite_utils.Database) -> None:
    """Indexes a site's archive needs (100k studies), each checked with EXPLAIN QUERY PLAN:
    the next position of a new study and the worklist's order (``studies.position``), and the gold
    view's "latest decision against this report text" lookup; and a maintained label count per
    source, so ``status`` does not count 1.8M label rows on every call."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS studies_position ON studies(position);
        CREATE INDEX IF NOT EXISTS decisions_current ON decisions(study_id, finding, reader, report_sha256, id);
        ALTER TABLE label_sources ADD COLUMN label_count INTEGER NOT NULL DEFAULT 0;
        UPDATE label_sources SET label_count = (SELECT count(*) FROM silver_labels l WHERE l.source = name);
        """
    )


# m010–m012 (migrations_scale_pacs_review.py), then m013 (migrations_label_sets.py): registered in order.
from radcurate.engine.store.migrations_scale_pacs_review import PRIORITY_TRIGGERS  # noqa: E402, F401

# isort: split
from radcurate.engine.store.migrations_label_sets import REPLACED_TRIGGERS  # noqa: E402, F401  (m013)


def apply(db: sqlite_utils.Database) -> None:
    """Bring ``db`` to the newest schema."""
    migrations.apply(db)


def schema_version(db: sqlite_utils.Database) -> int:
    """Number of applied migrations of this set (1 = the first release's schema)."""
    return len(migrations.applied(db))
