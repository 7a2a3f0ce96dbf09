"""Stored review priorities: the ranking (engine/review/ranking.py) kept per study in the store.

Computing the ranking on read costs seconds at a site's scale (every label, score and decision of
every study), so each study's priority and reasons are stored (``study_priority``, migration
m010) and the worklists read them in order through an index. What keeps them right:

* every write the ranking depends on marks its study in ``priority_dirty`` inside the writer's own
  transaction — triggers on reports, label changes, decisions and scores, and the label store
  once per study and batch — so no path can leave a stored row silently out of date; a newly
  imported study is found by its import position, above the last one a refresh has seen;
* what the ranking reads project-wide (the newest model of each kind and its AUCs, the extractor
  sources' order, the vocabulary) is fingerprinted: a new fingerprint marks every study;
* :func:`refresh` recomputes the marked studies in batches (one short write transaction each, so
  a reader's decision never waits long) with the very function the on-read ranking uses.

The write paths call :func:`refresh` after their work (extraction, scoring, a decision), and every
read calls it first, so a read never returns a stale priority; normally it finds nothing to do.
``reader_progress`` (each reader's current decisions per study) is refreshed with the same marks:
it is the worklist status the paged worklist filters on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from radcurate.engine.review import ranking
from radcurate.engine.review.ranking import RankedStudy, Reason
from radcurate.engine.store import labels as label_store
from radcurate.engine.store.decisions import write_transaction

#: Bump when the ranking's rules change: stored priorities are then recomputed on the next read.
RANKING_RULES = "1"
#: Studies recomputed per write transaction (≈0.1–0.3 s of work on this machine's cores).
BATCH = 1000


def fingerprint(db: sqlite_utils.Database, findings: Sequence[str]) -> str:
    """A hash of what the ranking reads for every study at once (not per study)."""
    models = db.execute(
        "SELECT m.id, m.kind, m.metrics FROM models m"
        " WHERE EXISTS (SELECT 1 FROM scores s WHERE s.model_id = m.id) ORDER BY m.id"
    ).fetchall()
    state = {
        "rules": RANKING_RULES,
        "models": [list(m) for m in models],
        "sources": label_store.source_names(db, "extractor"),
        "findings": list(findings),
        "weights": [ranking.WEIGHTS, ranking.ZERO_SHOT_FACTOR, ranking.REST_FACTOR, ranking.SHOWN_REASON],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _state(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM ranking_state WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def _newest_position(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT coalesce(max(position), 0) FROM studies").fetchone()[0])


def pending(db: sqlite_utils.Database, findings: Sequence[str]) -> bool:
    """Whether a stored priority may be out of date (a plain read: no write lock taken)."""
    if db.execute("SELECT 1 FROM priority_dirty LIMIT 1").fetchone() is not None:
        return True
    if int(_state(db, "seen_position") or 0) < _newest_position(db):
        return True  # studies imported since the last refresh
    return _state(db, "inputs") != fingerprint(db, findings)


def refresh(db: sqlite_utils.Database, findings: Sequence[str]) -> int:
    """Recompute every marked study's stored priority (all of them when the fingerprint changed).

    Returns how many studies were recomputed. Each batch is its own write transaction: a kill
    loses at most the open batch, whose marks stay for the next refresh.
    """
    if not pending(db, findings):
        return 0
    names = list(findings)
    with write_transaction(db) as conn:
        now = fingerprint(db, names)
        if _state(db, "inputs") != now:
            conn.execute("INSERT OR IGNORE INTO priority_dirty (study_id) SELECT id FROM studies")
            conn.execute("INSERT OR REPLACE INTO ranking_state (key, value) VALUES ('inputs', ?)", [now])
        seen, newest = int(_state(db, "seen_position") or 0), _newest_position(db)
        if seen < newest:  # new studies: positions only grow (engine/store/studies.py)
            conn.execute(
                "INSERT OR IGNORE INTO priority_dirty (study_id) SELECT id FROM studies WHERE position > ?", [seen]
            )
            conn.execute("INSERT OR REPLACE INTO ranking_state (key, value) VALUES ('seen_position', ?)", [newest])
    done = 0
    while True:
        with write_transaction(db) as conn:
            ids = [r[0] for r in conn.execute("SELECT study_id FROM priority_dirty LIMIT ?", [BATCH]).fetchall()]
            if not ids:
                break
            _store(db, conn, ids, names)
        done += len(ids)
    return done


def refresh_studies(db: sqlite_utils.Database, findings: Sequence[str], study_ids: Sequence[str]) -> int:
    """Recompute just these marked studies (after a reader's decision: milliseconds), leaving any
    other work — a new model's scores being read in — to :func:`refresh`. Returns how many."""
    names = list(findings)
    if _state(db, "inputs") != fingerprint(db, names):
        return 0  # every study is due: not for a decision to pay
    with write_transaction(db) as conn:
        marked = conn.execute(
            "SELECT study_id FROM priority_dirty WHERE study_id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(study_ids))],
        ).fetchall()
        if marked:
            _store(db, conn, [r[0] for r in marked], names)
    return len(marked)


def _store(db: sqlite_utils.Database, conn: Any, ids: list[str], names: list[str]) -> None:
    """Recompute ``ids`` and clear their marks (caller holds the write transaction)."""
    wanted = json.dumps(ids)
    positions = dict(
        conn.execute("SELECT id, position FROM studies WHERE id IN (SELECT value FROM json_each(?))", [wanted])
    )
    inputs = ranking.load_inputs(db, list(positions))
    rows = []
    for study_id, position in positions.items():
        r = ranking.study_row(study_id, int(position), names, inputs)
        reasons = [[x.finding, x.kind, x.weight, x.silver, x.score, x.other] for x in r.reasons]
        rows.append((study_id, int(position), r.priority, json.dumps(reasons)))
    conn.execute("DELETE FROM study_priority WHERE study_id IN (SELECT value FROM json_each(?))", [wanted])
    conn.executemany("INSERT INTO study_priority (study_id, position, priority, reasons) VALUES (?, ?, ?, ?)", rows)
    conn.execute("DELETE FROM reader_progress WHERE study_id IN (SELECT value FROM json_each(?))", [wanted])
    conn.execute(
        "INSERT INTO reader_progress (reader, study_id, decided) SELECT reader, study_id, count(*)"
        " FROM gold_labels WHERE study_id IN (SELECT value FROM json_each(?)) GROUP BY reader, study_id",
        [wanted],
    )
    conn.execute("DELETE FROM priority_dirty WHERE study_id IN (SELECT value FROM json_each(?))", [wanted])


def _reasons(text: str) -> tuple[Reason, ...]:
    return tuple(Reason(f, k, w, s, sc, o) for f, k, w, s, sc, o in json.loads(text))


def stored_rank(
    db: sqlite_utils.Database, findings: Sequence[str], *, reader: str | None = None, limit: int | None = None
) -> list[RankedStudy]:
    """:func:`ranking.rank` read from the stored rows (refreshed first): the same rows, in the same
    order, with ``limit`` read through the index instead of ranking every study."""
    names = list(findings)
    refresh(db, names)
    who, params = ("AND r.reader = ?", [reader]) if reader is not None else ("", [])
    done = f"EXISTS (SELECT 1 FROM reader_progress r WHERE r.study_id = p.study_id AND r.decided >= ? {who})"
    take = " LIMIT ?" if limit is not None else ""
    top = db.execute(
        f"SELECT p.study_id, p.priority, p.reasons, p.position FROM study_priority p INDEXED BY study_priority_order"
        f" WHERE NOT {done} ORDER BY p.priority DESC, p.position{take}",
        [len(names), *params, *([limit] if limit is not None else [])],
    ).fetchall()
    rows = [RankedStudy(s, float(p), _reasons(r), False, int(pos)) for s, p, r, pos in top]
    if limit is None or len(rows) < limit:
        rest = None if limit is None else limit - len(rows)
        tail = db.execute(
            f"SELECT p.study_id, p.priority, p.reasons, p.position FROM study_priority p"
            f" INDEXED BY study_priority_position WHERE {done} ORDER BY p.position{take}",
            [len(names), *params, *([rest] if rest is not None else [])],
        ).fetchall()
        rows += [RankedStudy(s, float(p), _reasons(r), True, int(pos)) for s, p, r, pos in tail]
    return rows


def unresolved_count(db: sqlite_utils.Database, findings: Sequence[str]) -> int | None:
    """Readers' disagreements nobody adjudicated, from the stored rows (``None`` while a refresh is
    due). Only studies two readers or more have decided can hold one: their reasons are read."""
    if pending(db, findings):
        return None
    row = db.execute(
        "SELECT count(*) FROM study_priority p, json_each(p.reasons) j WHERE p.study_id IN"
        " (SELECT study_id FROM reader_progress GROUP BY study_id HAVING count(*) > 1)"
        " AND json_extract(j.value, '$[1]') = 'readers'"
    ).fetchone()
    return int(row[0])
