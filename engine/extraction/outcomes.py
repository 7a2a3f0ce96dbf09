"""Writing one report's extraction outcome: its labels, or a quarantine record — one rule for every path.

The local (rules) runner, the online LLM path and the Batch API path all end here, inside the
caller's transaction, so "what a labelled report leaves in the store" is decided once: the labels
stamped with the report text's sha256 they were made from (DESIGN §4 Provenance), or a quarantine
record naming the study, the field and the reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import sqlite_utils

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.store import label_sets, quarantine
from radcurate.engine.store.label_sets import PackedSet
from radcurate.engine.store.studies import Report


def store_report_outcome(
    conn: sqlite3.Connection,
    db: sqlite_utils.Database,
    report: Report,
    source: str,
    labels: Sequence[SilverLabel] | None,
    *,
    reason: str = "",
    field: str = "report",
    extractor_version: str | None,
    prompt_hash: str | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: float = 0.0,
) -> bool:
    """Store ``labels`` for ``report`` (True), or quarantine it with ``reason`` when ``labels`` is None (False).

    The caller holds the write transaction on ``conn`` (``db``'s connection).
    """
    if labels is None:
        quarantine.add(db, report.study_id, field, reason or "no labels", "extraction")
        return False
    label_sets.replace_study_labels(
        conn,
        report.study_id,
        source,
        labels,
        report_sha256=report.sha256,
        extractor_version=extractor_version,
        prompt_hash=prompt_hash,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_usd,
    )
    return True


def store_packed_outcomes(
    conn: sqlite3.Connection,
    db: sqlite_utils.Database,
    source: str,
    labelled: Sequence[PackedSet],
    failed: Sequence[tuple[Report, str]],
    *,
    extractor_version: str | None,
) -> None:
    """A batch of an offline extractor's outcomes, in a few statements: the label sets its workers
    packed (engine/store/label_sets.py), and the reports it could not label, quarantined with the
    reason. Same rule as :func:`store_report_outcome`, written set-wise so the store keeps up with
    a process pool of extractors (a site's archive: 100k reports, 1.8M labels)."""
    for report, reason in failed:
        quarantine.add(db, report.study_id, "report", reason or "no labels", "extraction")
    label_sets.write_sets(conn, source, labelled, extractor_version=extractor_version)
