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


def apply(db: sqlite_utils.Database) -> None:
    """Bring ``db`` to the newest schema."""
    migrations.apply(db)


def schema_version(db: sqlite_utils.Database) -> int:
    """Number of applied migrations of this set (1 = the first release's schema)."""
    return len(migrations.applied(db))
