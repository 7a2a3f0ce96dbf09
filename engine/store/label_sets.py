"""Writing silver labels: one *label set* per study, source and report text (migration m013).

A set is one labeller's reading of one report text: its provenance (source, the text's sha256,
extractor version, prompt hash, usage, time) once, and its labels as a JSON array in vocabulary
order (:func:`pack`). A rerun on the same text replaces its own set in the caller's transaction,
so a study never shows half old, half new labels; sets of earlier texts stay, stale, for the
record. Reads go through the ``silver_labels`` view (engine/store/labels.py).

:func:`pack` is what an extractor's worker process calls, so the store's one writer receives
text it binds as is: at a site's archive the writer, not the extractor, had been the limit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.store.database import utc_now
from radcurate.engine.vocabulary import LabelState

# A study whose labels change is marked for the ranking's stored priorities (migration m010;
# engine/review/priorities.py): once per study and batch, in one statement.
_MARK_MANY = "INSERT OR IGNORE INTO priority_dirty (study_id) SELECT value FROM json_each(?)"
_INSERT = (
    "INSERT INTO label_sets (study_id, source, report_sha256, extractor_version, prompt_hash, tokens_in,"
    " tokens_out, cost_usd, created_at, n, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: One study's labels from one source, ready to store: (study_id, report sha256 or None, packed, count).
PackedSet = tuple[str, str | None, str, int]


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_STATES = frozenset(LabelState)  # a StrEnum: its members are the state strings, so a str state is found too


def pack(labels: Sequence[SilverLabel]) -> str:
    """The JSON array a set stores: ``[finding, state, evidence, start, end, confidence]`` per label,
    plus ``flags`` only when there are any (most labels have none).

    Runs in the extractor's worker processes once per report, so it is kept to one encoder call.
    """
    items = []
    for lab in labels:
        if lab.state not in _STATES:
            raise ValueError(f"{lab.finding}: unknown label state {lab.state!r}")
        item = [lab.finding, lab.state, lab.evidence, lab.start, lab.end, lab.confidence]
        if lab.flags:
            item.append(list(lab.flags))
        items.append(item)
    return _ENCODE(items)


def _remove(conn: sqlite3.Connection, source: str, keys: Sequence[tuple[str, str | None]]) -> int:
    """Delete the sets of ``source`` for these (study, report sha256) keys; returns the labels removed."""
    found = conn.execute(
        "SELECT id, study_id, report_sha256, n FROM label_sets WHERE source = ?"
        " AND study_id IN (SELECT value FROM json_each(?))",
        (source, json.dumps([study for study, _ in keys])),
    ).fetchall()
    wanted = set(keys)
    gone = [(set_id, n) for set_id, study, sha, n in found if (study, sha) in wanted]
    if not gone:
        return 0
    conn.execute(
        "DELETE FROM label_sets WHERE id IN (SELECT value FROM json_each(?))", (json.dumps([i for i, _ in gone]),)
    )
    return sum(n for _, n in gone)


def write_sets(
    conn: sqlite3.Connection,
    source: str,
    sets: Sequence[PackedSet],
    *,
    extractor_version: str | None = None,
    prompt_hash: str | None = None,
    usage: tuple[int, int, float] = (0, 0, 0.0),
) -> None:
    """Replace each ``(study_id, report_sha256, packed, n)`` set of ``source`` in a few statements.

    Caller holds the transaction. ``usage`` (tokens in, tokens out, cost) is for a single set (one
    LLM answer); offline sources have none. A set with no labels removes the study's set of that
    text and writes nothing.
    """
    if not sets:
        return
    removed = _remove(conn, source, [(study, sha) for study, sha, _, _ in sets])
    conn.execute(_MARK_MANY, (json.dumps([study for study, _, _, _ in sets]),))
    now = utc_now()
    t_in, t_out, cost = usage
    rows = [
        (study, source, sha, extractor_version, prompt_hash, t_in, t_out, cost, now, n, packed)
        for study, sha, packed, n in sets
        if n
    ]
    conn.executemany(_INSERT, rows)
    added = sum(row[9] for row in rows)
    if added != removed:  # the maintained count ``status`` reads (migration m009)
        conn.execute("UPDATE label_sources SET label_count = label_count + ? WHERE name = ?", (added - removed, source))


def replace_study_labels(
    conn: sqlite3.Connection,
    study_id: str,
    source: str,
    labels: Sequence[SilverLabel],
    *,
    report_sha256: str | None,
    extractor_version: str | None = None,
    prompt_hash: str | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: float = 0.0,
) -> None:
    """Replace one study's labels from one source for one report text. Caller holds the transaction.

    ``report_sha256`` is the text the labels were made from; ``tokens_in``/``tokens_out``/
    ``cost_usd`` are the whole report's usage (the view splits them over its labels).
    """
    write_sets(
        conn,
        source,
        [(study_id, report_sha256, pack(labels), len(labels))],
        extractor_version=extractor_version,
        prompt_hash=prompt_hash,
        usage=(int(tokens_in), int(tokens_out), float(cost_usd)),
    )


def replace_many(
    conn: sqlite3.Connection,
    source: str,
    items: Sequence[tuple[str, str | None, Sequence[SilverLabel]]],
    *,
    extractor_version: str | None = None,
) -> None:
    """:func:`replace_study_labels` for many ``(study_id, report_sha256, labels)`` of one offline
    source (no usage). Caller holds the transaction."""
    write_sets(
        conn,
        source,
        [(study, sha, pack(labels), len(labels)) for study, sha, labels in items],
        extractor_version=extractor_version,
    )


def delete_source_labels(conn: sqlite3.Connection, source: str) -> int:
    """Remove every label of a source (a reference re-import replaces the file's labels wholesale);
    returns how many labels went."""
    conn.execute("UPDATE label_sources SET label_count = 0 WHERE name = ?", (source,))
    conn.execute(
        "INSERT OR IGNORE INTO priority_dirty (study_id) SELECT DISTINCT study_id FROM label_sets WHERE source = ?",
        (source,),
    )
    removed = conn.execute("SELECT coalesce(sum(n), 0) FROM label_sets WHERE source = ?", (source,)).fetchone()[0]
    conn.execute("DELETE FROM label_sets WHERE source = ?", (source,))
    return int(removed)
