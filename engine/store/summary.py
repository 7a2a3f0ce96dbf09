"""What a project holds, counted in the store (the ``status --json`` document's store half).

Counts come from indexed columns or whole-table ``count(*)`` so ``status`` stays quick on a site's
archive; stale rows (made against a report text that has since changed) are counted apart.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from radcurate.engine.store import label_listing, migrations
from radcurate.engine.store import labels as label_store

TABLES = ("studies", "series", "reports", "decisions", "quarantine", "models", "jobs")


def counts(db: sqlite_utils.Database) -> dict[str, Any]:
    """Rows per table, labels per source, reviewed studies, stale labels and decisions, schema version."""

    def count(table: str) -> int:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    reviewed = db.execute("SELECT count(DISTINCT study_id) FROM gold_labels").fetchone()[0]
    stale_decisions = db.execute(  # as for labels: only studies whose report was replaced can hold them
        "SELECT count(*) FROM decisions d WHERE d.study_id IN (SELECT DISTINCT study_id FROM report_versions) "
        "AND d.report_sha256 IS NOT (SELECT r.sha256 FROM reports r WHERE r.id = d.study_id)"
    ).fetchone()[0]
    return {
        "studies": count("studies"),
        "series": count("series"),
        "reports": count("reports"),
        "labels": label_store.counts(db),
        "decisions": count("decisions"),
        "reviewed_studies": int(reviewed),
        "stale": {"labels": label_listing.stale_count(db), "decisions": int(stale_decisions)},
        "quarantined": count("quarantine"),
        "models": count("models"),
        "jobs": count("jobs"),
        "schema_version": migrations.schema_version(db),
    }
