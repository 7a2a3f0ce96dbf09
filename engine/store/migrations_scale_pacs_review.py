"""Migrations m010–m012 (stored priorities, PACS fetches, case flags), split from migrations.py.

Registered on the same ``Migrations`` set, after m001–m009: migrations.py imports this module at
its end, so the order of definition is the order of application. Never edited once shipped.
"""

from __future__ import annotations

import sqlite_utils

from radcurate.engine.store.migrations import STATES, migrations  # noqa: F401  (STATES: for later steps)

#: Writes that can change a study's review priority mark it in ``priority_dirty`` (m010); the
#: ranking (engine/review/priorities.py) recomputes marked studies and clears their marks. Silver
#: labels are inserted and deleted only by engine/store/labels.py, which marks once per study and
#: batch (a trigger per label row tripled the cost of writing 1.8M labels); any other change to a
#: label row is caught here. New studies need no mark: their import positions are above the last
#: one the ranking has seen (a mark per imported study cost the import a quarter of its speed).
PRIORITY_TRIGGERS = {
    "priority_dirty_report_new": (  # a new study (not ranked yet) is found by its position instead
        "AFTER INSERT ON reports WHEN EXISTS (SELECT 1 FROM study_priority WHERE study_id = NEW.study_id)"
        " BEGIN {mark} (NEW.study_id); END"
    ),
    "priority_dirty_report_text": "AFTER UPDATE OF sha256 ON reports BEGIN {mark} (NEW.study_id); END",
    "priority_dirty_label_change": (
        "AFTER UPDATE ON silver_labels BEGIN {mark} (NEW.study_id); {mark} (OLD.study_id); END"
    ),
    "priority_dirty_decision": "AFTER INSERT ON decisions BEGIN {mark} (NEW.study_id); END",
    "priority_dirty_score_new": "AFTER INSERT ON scores BEGIN {mark} (NEW.study_id); END",
    "priority_dirty_score_gone": "AFTER DELETE ON scores BEGIN {mark} (OLD.study_id); END",
    "priority_dirty_score_change": "AFTER UPDATE ON scores BEGIN {mark} (NEW.study_id); END",
}


def _marks(body: str, mark: str) -> str:
    """``{mark} (KEY)`` in a trigger body → the statement marking KEY's study."""
    for key in ("NEW.study_id", "OLD.study_id"):
        body = body.replace("{mark} (" + key + ")", mark.format(key=key))
    return body


@migrations(name="m010_scale")
def m010_scale(db: sqlite_utils.Database) -> None:
    """Stored review priorities, so the ranked worklist is an indexed read at 100k studies.

    ``study_priority``: each study's priority and reasons as engine/review/ranking.py computes them
    (read in order through ``study_priority_order``); ``reader_progress``: each reader's current
    decisions per study (the worklist status); ``priority_dirty``: studies whose stored row may be
    out of date, marked by triggers on every table the ranking reads per study (a write through
    any path, present or future, marks them inside its own transaction); ``ranking_state``: a
    fingerprint of what the ranking reads project-wide (the models with scores and their AUCs,
    the extractor sources' order, the vocabulary): when it changes, every study is recomputed.
    Every existing study starts marked.
    """
    # no "OR IGNORE" here: a trigger's conflict clause gives way to that of the statement firing it
    mark = (
        "INSERT INTO priority_dirty (study_id) SELECT {key}"
        " WHERE NOT EXISTS (SELECT 1 FROM priority_dirty WHERE study_id = {key})"
    )
    triggers = "\n".join(f"CREATE TRIGGER {name} {_marks(body, mark)};" for name, body in PRIORITY_TRIGGERS.items())
    db.executescript(
        f"""
        CREATE TABLE study_priority (
            study_id TEXT PRIMARY KEY,
            position INTEGER NOT NULL,            -- the study's import position: ties break on it
            priority REAL NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]'    -- JSON [[finding, kind, weight, silver, score, other], ...]
        );
        CREATE INDEX study_priority_order ON study_priority(priority DESC, position, study_id);
        CREATE INDEX study_priority_position ON study_priority(position, priority, study_id);
        CREATE TABLE reader_progress (
            reader TEXT NOT NULL,
            study_id TEXT NOT NULL,
            decided INTEGER NOT NULL,             -- current decisions (the gold_labels view) of this reader
            PRIMARY KEY (reader, study_id)
        ) WITHOUT ROWID;
        CREATE INDEX reader_progress_study ON reader_progress(study_id);
        CREATE TABLE priority_dirty (study_id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE ranking_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO priority_dirty (study_id) SELECT id FROM studies;
        {triggers}
        """
    )


@migrations(name="m011_pacs")
def m011_pacs(db: sqlite_utils.Database) -> None:
    """Per-series fetch records of PACS imports (engine/store/pacs_fetches.py), so an interrupted
    import resumes without fetching a completed series again. Keyed by SeriesInstanceUID: a UID is
    unique worldwide, so the same series reached through DICOMweb or DIMSE is fetched once."""
    db.executescript(
        """
        CREATE TABLE pacs_fetches (
            series_uid TEXT PRIMARY KEY,
            study_uid TEXT NOT NULL,
            source TEXT NOT NULL,                 -- the PACS URL, never with credentials
            modality TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL CHECK (state IN ('fetching', 'complete', 'failed')),
            folder TEXT NOT NULL,                 -- relative to the project folder
            expected INTEGER,                     -- instances the PACS announced (NULL: it did not say)
            received INTEGER NOT NULL DEFAULT 0,
            files_sha256 TEXT,                    -- sha256 over the sorted per-file sha256s, when complete
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX pacs_fetches_study ON pacs_fetches(study_uid);
        """
    )


@migrations(name="m012_review")
def m012_review(db: sqlite_utils.Database) -> None:
    """Readers' flags on a case ("look again", "skipped: poor image"), append-only like decisions
    (engine/store/case_flags.py): a flag is cleared by a later ``unflag`` row, never by an edit."""
    db.executescript(
        """
        CREATE TABLE case_flags (
            id INTEGER PRIMARY KEY,
            study_id TEXT NOT NULL REFERENCES studies(id),
            reader TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('flag', 'unflag', 'skip')),
            note TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX case_flags_study ON case_flags(study_id, reader, id);
        CREATE TRIGGER case_flags_no_update BEFORE UPDATE ON case_flags
        BEGIN SELECT RAISE(ABORT, 'case flags are append-only: UPDATE refused'); END;
        CREATE TRIGGER case_flags_no_delete BEFORE DELETE ON case_flags
        BEGIN SELECT RAISE(ABORT, 'case flags are append-only: DELETE refused'); END;
        """
    )
