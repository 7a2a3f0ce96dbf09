"""Migration m013: silver labels stored as one *label set* per (study, source, report text).

Until m012 every label was its own row carrying the study, the source, the report text's 64-hex
sha256, the extractor version and a timestamp, under a four-column unique index and a second
index: at a site's archive (100k reports × 18 findings = 1.8M rows) the store's one writer spent
as much CPU inserting a report's 18 rows as the rules extractor spent reading the report, so an
extraction job ran at half its extractor's speed. What the 18 rows repeat is the provenance of
one extractor reading one report text, so that becomes the row (``label_sets``: who, which text,
which version, usage, when) and the labels ride in it as a JSON array in vocabulary order,
``[[finding, state, evidence, start, end, confidence, flags?], ...]`` (``flags`` only when there
are any), serialised by the extractor's worker process: one INSERT per report.

``silver_labels`` stays as a view with the old columns, so every read (and SQL a user wrote
against it) keeps working; ``tokens_in``/``tokens_out``/``cost_usd`` are split over a set's labels
on read exactly as they were on write (integer tokens exactly, the remainder on the first
labels). An UPDATE of the view rewrites the one label in its set (an INSTEAD OF trigger), and
any change of a set marks its study for the ranking.
"""

from __future__ import annotations

import sqlite_utils

from radcurate.engine.store.migrations import migrations

#: Triggers of m010 replaced here (the table they watched is now a view): name → replacement.
REPLACED_TRIGGERS = {"priority_dirty_label_change": "priority_dirty_label_set_change"}

_MARK = (
    "INSERT INTO priority_dirty (study_id) SELECT {key}"
    " WHERE NOT EXISTS (SELECT 1 FROM priority_dirty WHERE study_id = {key})"
)


@migrations(name="m013_label_sets")
def m013_label_sets(db: sqlite_utils.Database) -> None:
    """``silver_labels`` rows → ``label_sets`` (module docstring); ``silver_labels`` becomes a view."""
    db.executescript(
        f"""
        CREATE TABLE label_sets (
            id INTEGER PRIMARY KEY,
            study_id TEXT NOT NULL REFERENCES studies(id),
            source TEXT NOT NULL REFERENCES label_sources(name),
            report_sha256 TEXT,                    -- the report text labelled (NULL: no report)
            extractor_version TEXT,
            prompt_hash TEXT,
            tokens_in INTEGER NOT NULL DEFAULT 0,  -- the whole report's usage
            tokens_out INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            n INTEGER NOT NULL CHECK (n > 0),      -- labels in the set
            labels TEXT NOT NULL,                  -- JSON, in vocabulary order (module docstring)
            UNIQUE (study_id, source, report_sha256)
        );
        CREATE INDEX label_sets_source ON label_sets(source, study_id);
        INSERT INTO label_sets (study_id, source, report_sha256, extractor_version, prompt_hash, tokens_in,
                                tokens_out, cost_usd, created_at, n, labels)
            SELECT study_id, source, report_sha256, max(extractor_version), max(prompt_hash), sum(tokens_in),
                   sum(tokens_out), sum(cost_usd), max(created_at), count(*),
                   json_group_array(json_array(finding, state, evidence, start, end, confidence, json(flags)))
            FROM (SELECT l.* FROM silver_labels l LEFT JOIN findings f ON f.name = l.finding
                  ORDER BY l.study_id, l.source, l.report_sha256, f.position, l.id)
            GROUP BY study_id, source, report_sha256;
        DROP TRIGGER IF EXISTS priority_dirty_label_change;
        DROP TABLE silver_labels;
        CREATE VIEW silver_labels AS
            SELECT s.id AS set_id, e.key AS item, s.study_id, s.source,
                   e.value ->> 0 AS finding, e.value ->> 1 AS state, e.value ->> 2 AS evidence,
                   e.value ->> 3 AS start, e.value ->> 4 AS end, e.value ->> 5 AS confidence,
                   coalesce(e.value ->> 6, '[]') AS flags, s.extractor_version, s.prompt_hash,
                   s.tokens_in / s.n + (e.key < s.tokens_in % s.n) AS tokens_in,
                   s.tokens_out / s.n + (e.key < s.tokens_out % s.n) AS tokens_out,
                   s.cost_usd / s.n AS cost_usd, s.created_at, s.report_sha256
            FROM label_sets s, json_each(s.labels) e;
        CREATE TRIGGER silver_labels_update INSTEAD OF UPDATE ON silver_labels BEGIN
            UPDATE label_sets SET labels = json_replace(labels, '$[' || OLD.item || ']',
                json_array(NEW.finding, NEW.state, NEW.evidence, NEW.start, NEW.end, NEW.confidence, json(NEW.flags)))
            WHERE id = OLD.set_id;
        END;
        CREATE TRIGGER priority_dirty_label_set_change AFTER UPDATE ON label_sets BEGIN
            {_MARK.format(key="NEW.study_id")}; {_MARK.format(key="OLD.study_id")};
        END;
        """
    )
