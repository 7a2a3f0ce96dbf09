"""kill -9 during a batched import or a batched extraction: committed rows intact, nothing duplicated.

Reports and labels are written in batches (one transaction each); a kill loses at most the open
batch, and the rerun finishes the work without a duplicate row or a wrong maintained count.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from radcurate.engine.project import Project

N = 4000


def cli(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "radcurate.engine.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def count(db_path: Path, sql: str) -> int:
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def kill_when(db_path: Path, sql: str, process: subprocess.Popen[bytes], least: int, rng: random.Random) -> int:
    """SIGKILL ``process`` at a random moment after ``sql`` first counts ``least`` rows; the count then."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if count(db_path, sql) >= least:
                break
        except sqlite3.OperationalError:
            pass  # the table is not there yet
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 0.3))
    workers = children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "the killed job's pool workers live on"
    return count(db_path, sql)


def children(pid: int) -> list[int]:
    """The process's children (Linux /proc; empty elsewhere)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(x) for x in task.read_text().split()]
    return found


@pytest.mark.slow
def test_killed_batched_import_and_extraction_resume_without_loss_or_duplicates(tmp_path: Path) -> None:
    rng = random.Random(7)
    reports = tmp_path / "reports.csv"
    with reports.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["study_id", "report_text"])
        for i in range(N):
            writer.writerow([f"s{i:05d}", f"FINDINGS: Case {i}. Cardiomegaly. No pleural effusion. " + "Text. " * 40])
    project = tmp_path / "p"
    Project.create(project, preset="demo").close()
    db = project / "radcurate.db"

    importing = cli("import", str(project), "--reports", str(reports))
    at_kill = kill_when(db, "SELECT count(*) FROM reports", importing, 1, rng)
    assert 0 < at_kill <= N
    assert count(db, "SELECT count(*) FROM reports") == count(db, "SELECT count(*) FROM studies") == at_kill
    committed = rows(db, "SELECT s.id, s.position, r.sha256, r.text FROM studies s JOIN reports r ON r.id = s.id")
    assert subprocess.run([sys.executable, "-m", "radcurate.engine.cli", "import", str(project), "--reports",
                           str(reports)], capture_output=True).returncode == 0  # fmt: skip
    assert count(db, "SELECT count(*) FROM reports") == count(db, "SELECT count(DISTINCT position) FROM studies") == N
    after = set(rows(db, "SELECT s.id, s.position, r.sha256, r.text FROM studies s JOIN reports r ON r.id = s.id"))
    assert set(committed) <= after  # every row committed before the kill is there, unchanged

    extracting = cli("extract", str(project), "--extractor", "rules")
    labelled = kill_when(db, "SELECT count(*) FROM silver_labels", extracting, 18, rng)
    assert labelled % 18 == 0 and labelled < N * 18  # whole reports only, never half a report's labels
    labels_sql = "SELECT study_id, source, finding, state, evidence, start, end, report_sha256 FROM silver_labels"
    kept = rows(db, labels_sql)
    rerun = subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", "extract", str(project), "--extractor", "rules"],
        capture_output=True,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert count(db, "SELECT count(*) FROM silver_labels") == N * 18
    assert count(db, "SELECT count(*) FROM (SELECT DISTINCT study_id, source, finding FROM silver_labels)") == N * 18
    assert count(db, "SELECT label_count FROM label_sources WHERE name LIKE 'rules%'") == N * 18
    assert set(kept) <= set(rows(db, labels_sql))  # the labels committed before the kill, intact
    # the rerun's refresh stored one priority (and no leftover mark) per study, as the ranking computes it
    assert (
        count(db, "SELECT count(DISTINCT study_id) FROM study_priority")
        == count(db, "SELECT count(*) FROM study_priority")
        == N
    )
    assert count(db, "SELECT count(*) FROM priority_dirty") == 0
    with Project.open(project) as p:
        from radcurate.engine.review.ranking import rank

        on_read = [(r.study_id, r.priority, r.reasons) for r in rank(p.db, p.vocabulary, limit=50)]
        assert [(r.study_id, r.priority, r.reasons) for r in p.ranked_worklist(limit=50)] == on_read
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
