"""Latency of one committed decision vs a bare sqlite3 INSERT + COMMIT, side by side in one run.

Run: python benchmarks/decision_commit.py [--n 2000]

Both sides use the same file system and the same durability (WAL, synchronous=FULL), so the
ratio shows what radcurate's checks (study exists, previous state, action id, triggers, index
upkeep) cost on top of the commit itself. Goal: p99 <= 20 ms for a decision.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from radcurate.engine.project import Project
from radcurate.engine.store import decisions, studies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def time_decisions(root: Path, n: int) -> list[float]:
    with Project.create(root / "project") as project:
        with decisions.write_transaction(project.db):
            for i in range(20):
                studies.ensure_study(project.db, f"study_{i:03d}")
        findings = list(project.vocabulary)
        states = ["present", "absent", "uncertain", "not_mentioned"]
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            project.decide(f"study_{i % 20:03d}", findings[i % len(findings)], states[i % 4], reader="bench")
            times.append(time.perf_counter() - t0)
    return times


def time_bare_sqlite(root: Path, n: int) -> list[float]:
    conn = sqlite3.connect(root / "bare.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, study TEXT, finding TEXT, state TEXT, at TEXT)")
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO t (study, finding, state, at) VALUES (?, ?, ?, ?)",
            (f"study_{i % 20}", "Emphysema", "present", "2026-01-01"),
        )
        conn.execute("COMMIT")
        times.append(time.perf_counter() - t0)
    conn.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="decisions to time on each side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Interleave halves so machine noise hits both sides alike.
        ours, bare = [], []
        for half in range(2):
            sub = root / f"round{half}"
            sub.mkdir()
            ours += time_decisions(sub, args.n // 2)
            bare += time_bare_sqlite(sub, args.n // 2)
    rows = [("radcurate decide", ours), ("bare sqlite3 INSERT+COMMIT", bare)]
    print(f"{'':30s} {'p50 ms':>8s} {'p99 ms':>8s} {'mean ms':>8s}   (n={args.n}, WAL, synchronous=FULL)")
    for name, values in rows:
        print(
            f"{name:30s} {percentile(values, 50) * 1e3:8.3f} {percentile(values, 99) * 1e3:8.3f} "
            f"{statistics.fmean(values) * 1e3:8.3f}"
        )
    p99 = percentile(ours, 99) * 1e3
    print(
        f"ratio radcurate/bare: p50 {percentile(ours, 50) / percentile(bare, 50):.2f}x, "
        f"p99 {percentile(ours, 99) / percentile(bare, 99):.2f}x"
    )
    print(f"goal p99 <= 20 ms: {'met' if p99 <= 20 else 'NOT met'} ({p99:.2f} ms)")


if __name__ == "__main__":
    main()
