"""Three ways to store a report's 18 silver labels, side by side: the write cost and the read cost.

Why label sets (migration m013): the store has one writer, and at a site's archive its CPU per
report decides whether an extraction job keeps up with its extractor. Each schema gets the same
N reports × 18 labels ``executemany``'d in one transaction (WAL, ``synchronous=FULL``, foreign
keys on, as the project's connection), then the same reads:

* ``rows``: one row per label with its provenance (the schema up to m012);
* ``normalised``: a set row with the provenance plus 18 narrow rows (``WITHOUT ROWID``);
* ``sets``: a set row with the labels packed as JSON (m013), read through a ``json_each`` view.

Usage::

    python benchmarks/label_rows.py [--reports 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

FINDINGS = [f"Finding name number {i:02d}" for i in range(18)]
STATES = ("present", "absent", "uncertain", "not_mentioned")
CHECK = "CHECK (state IN ('present', 'absent', 'uncertain', 'not_mentioned'))"
PROVENANCE = (
    "report_sha256 TEXT, extractor_version TEXT, prompt_hash TEXT, tokens_in INTEGER NOT NULL DEFAULT 0,"
    " tokens_out INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0, created_at TEXT NOT NULL"
)
LABEL = f"state TEXT NOT NULL {CHECK}, evidence TEXT, start INTEGER, end INTEGER, confidence REAL"
SCHEMAS = {
    "rows": f"""CREATE TABLE silver_labels (id INTEGER PRIMARY KEY AUTOINCREMENT,
            study_id TEXT NOT NULL REFERENCES studies(id), source TEXT NOT NULL REFERENCES label_sources(name),
            finding TEXT NOT NULL REFERENCES findings(name), {LABEL}, flags TEXT NOT NULL DEFAULT '[]', {PROVENANCE},
            UNIQUE (study_id, source, finding, report_sha256));
        CREATE INDEX silver_source ON silver_labels(source, study_id);""",
    "normalised": f"""CREATE TABLE label_runs (id INTEGER PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id),
            source TEXT NOT NULL REFERENCES label_sources(name), {PROVENANCE},
            UNIQUE (study_id, source, report_sha256));
        CREATE INDEX label_runs_source ON label_runs(source, study_id);
        CREATE TABLE label_values (run_id INTEGER NOT NULL REFERENCES label_runs(id),
            finding TEXT NOT NULL REFERENCES findings(name), {LABEL}, flags TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (run_id, finding)) WITHOUT ROWID;
        CREATE VIEW silver_labels AS SELECT r.study_id, r.source, v.finding, v.state, v.evidence
            FROM label_runs r JOIN label_values v ON v.run_id = r.id;""",
    "sets": f"""CREATE TABLE label_sets (id INTEGER PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id),
            source TEXT NOT NULL REFERENCES label_sources(name), {PROVENANCE}, n INTEGER NOT NULL,
            labels TEXT NOT NULL, UNIQUE (study_id, source, report_sha256));
        CREATE INDEX label_sets_source ON label_sets(source, study_id);
        CREATE VIEW silver_labels AS SELECT s.study_id, s.source, e.value ->> 0 AS finding,
            e.value ->> 1 AS state, e.value ->> 2 AS evidence FROM label_sets s, json_each(s.labels) e;""",
}
NOW = "2026-12-02T00:00:00Z"


def reports(n: int) -> list[tuple[str, str, list[tuple]]]:
    rng = random.Random(0)
    return [
        (
            f"train_{i}_a_1",
            hashlib.sha256(str(i).encode()).hexdigest(),
            [
                (f, rng.choice(STATES), "An evidence quote." if rng.random() < 0.5 else None, 10, 28, None)
                for f in FINDINGS
            ],
        )
        for i in range(n)
    ]


def database(path: Path, schema: str, n: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript(
        "CREATE TABLE studies (id TEXT PRIMARY KEY); CREATE TABLE findings (name TEXT PRIMARY KEY, position INTEGER);"
        " CREATE TABLE label_sources (name TEXT PRIMARY KEY);" + SCHEMAS[schema]
    )
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO studies VALUES (?)", [(f"train_{i}_a_1",) for i in range(n)])
    conn.executemany("INSERT INTO findings VALUES (?, ?)", [(f, i) for i, f in enumerate(FINDINGS)])
    conn.execute("INSERT INTO label_sources VALUES ('rules')")
    conn.execute("COMMIT")
    return conn


def write(conn: sqlite3.Connection, schema: str, data: list, batch: int = 1000) -> float:
    """CPU seconds to write ``data`` (packing for ``sets`` happens in the extractor's workers: not counted)."""
    packed = [json.dumps([list(lab) for lab in labels], separators=(",", ":")) for _, _, labels in data]
    start = time.process_time()
    conn.execute("BEGIN")
    for b in range(0, len(data), batch):
        chunk = data[b : b + batch]
        if schema == "rows":
            conn.executemany(
                "INSERT INTO silver_labels (study_id, source, finding, state, evidence, start, end, confidence,"
                " extractor_version, created_at, report_sha256) VALUES (?, 'rules', ?, ?, ?, ?, ?, ?, '1', ?, ?)",
                [(s, *lab, NOW, sha) for s, sha, labels in chunk for lab in labels],
            )
        elif schema == "normalised":
            for s, sha, labels in chunk:
                run = conn.execute(
                    "INSERT INTO label_runs (study_id, source, report_sha256, extractor_version, created_at)"
                    " VALUES (?, 'rules', ?, '1', ?)",
                    (s, sha, NOW),
                ).lastrowid
                conn.executemany(
                    "INSERT INTO label_values (run_id, finding, state, evidence, start, end, confidence)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(run, *lab) for lab in labels],
                )
        else:
            conn.executemany(
                "INSERT INTO label_sets (study_id, source, report_sha256, extractor_version, created_at, n, labels)"
                " VALUES (?, 'rules', ?, '1', ?, 18, ?)",
                [(s, sha, NOW, text) for (s, sha, _), text in zip(chunk, packed[b : b + batch], strict=True)],
            )
    conn.execute("COMMIT")
    return time.process_time() - start


def reads(conn: sqlite3.Connection, n: int) -> tuple[float, float, float]:
    """(a whole source's labels, one study's labels, a count of one finding's present labels), seconds."""
    start = time.perf_counter()
    conn.execute("SELECT study_id, finding, state FROM silver_labels WHERE source = 'rules'").fetchall()
    whole = time.perf_counter() - start
    picks = range(0, n, max(1, n // 100))
    start = time.perf_counter()
    for i in picks:
        conn.execute(
            "SELECT finding, state FROM silver_labels WHERE study_id = ? AND source = 'rules'", (f"train_{i}_a_1",)
        ).fetchall()
    one = (time.perf_counter() - start) / len(picks)
    start = time.perf_counter()
    conn.execute(f"SELECT count(*) FROM silver_labels WHERE finding = '{FINDINGS[3]}' AND state = 'present'").fetchone()
    return whole, one, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    n = parser.parse_args().reports
    data = reports(n)
    print(f"{n:,} reports × {len(FINDINGS)} labels")
    print(f"{'schema':<12} {'write CPU / report':>20} {'whole source':>14} {'one study':>11} {'count one finding':>19}")
    with tempfile.TemporaryDirectory() as folder:
        for schema in SCHEMAS:
            conn = database(Path(folder) / f"{schema}.db", schema, n)
            cpu = write(conn, schema, data)
            whole, one, count = reads(conn, n)
            print(f"{schema:<12} {cpu / n * 1e6:>17.0f} µs {whole:>12.2f} s {one * 1e3:>8.3f} ms {count:>17.2f} s")
            conn.close()


if __name__ == "__main__":
    main()
