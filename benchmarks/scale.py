"""A site's archive: import, extraction and reads at N reports (default 100,000), side by side.

Prints in one run (machines here are noisy, so every figure has its reference measured beside it):

* report import: reports/s and peak memory of the import (a child process, so the figure is the
  import's own), against a bare ``sqlite3`` ``executemany`` of the same rows into the same schema;
* extraction: the rules extractor as a job (labels written in batches) against the extractor alone
  on the same reports in the same process;
* reads: ``status``, a reader's worklist and one study's labels.

Usage: ``python benchmarks/scale.py [--reports N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHRASES = [
    "Heart size is enlarged.",
    "No pleural effusion.",
    "Centrilobular emphysema in both upper lobes.",
    "Subsegmental atelectasis at the lung bases.",
    "No mediastinal lymphadenopathy.",
    "A 4 mm nodule in the right upper lobe.",
    "Small hiatal hernia.",
    "Calcified atheroma in the aortic arch.",
    "No consolidation.",
    "Mild bronchiectasis in the lower lobes.",
]
FILLER = "The trachea and main bronchi are patent. The thyroid is unremarkable. " * 12  # ~1.9 kB like CT-RATE


def write_reports(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["study_id", "report_text"])
        for i in range(n):
            writer.writerow([f"s{i:06d}", f"FINDINGS: {' '.join(rng.sample(PHRASES, 5))} {FILLER} Case {i}."])


IMPORT_CHILD = """
import json, resource, sys, time
from radcurate.engine.project import Project
with Project.open(sys.argv[1]) as p:
    t = time.perf_counter(); s = p.import_paths([], reports=[sys.argv[2]]); dt = time.perf_counter() - t
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "reports": s.reports, "rss_mb": rss_mb}))
"""


def bare_sqlite(path: Path, csv_path: Path) -> float:
    """Seconds for a bare executemany of the same rows (study + report) into a WAL database."""
    import hashlib

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE studies (id TEXT PRIMARY KEY, position INTEGER, created_at TEXT)")
    db.execute("CREATE TABLE reports (id TEXT PRIMARY KEY, study_id TEXT, text TEXT, sha256 TEXT, source TEXT, t TEXT)")
    start = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[list[str]] = []
        for i, row in enumerate(reader):
            batch.append(row)
            if len(batch) == 1000:
                _flush(db, batch, i, hashlib)
                batch = []
        _flush(db, batch, i, hashlib)
    seconds = time.perf_counter() - start
    db.close()
    return seconds


def _flush(db: sqlite3.Connection, batch: list[list[str]], i: int, hashlib) -> None:  # noqa: ANN001
    db.execute("BEGIN")
    db.executemany("INSERT INTO studies VALUES (?, ?, 'now')", [(r[0], i) for r in batch])
    db.executemany(
        "INSERT INTO reports VALUES (?, ?, ?, ?, 'x', 'now')",
        [(r[0], r[0], r[1], hashlib.sha256(r[1].encode()).hexdigest()) for r in batch],
    )
    db.execute("COMMIT")


def timed(fn, repeat: int = 3) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="Work in this folder and keep it.")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="radcurate-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    n = args.reports
    csv_path = work / "reports.csv"
    write_reports(csv_path, n)
    print(f"{n:,} reports, {csv_path.stat().st_size / 1e6:.0f} MB CSV in {work}")

    from radcurate.engine.project import Project

    Project.create(work / "project", preset="demo").close()
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_CHILD, str(work / "project"), str(csv_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = json.loads(out.stdout)
    bare = bare_sqlite(work / "bare.db", csv_path)
    rate, bare_rate = n / imported["seconds"], n / bare
    print(f"import      {rate:10,.0f} reports/s   peak memory {imported['rss_mb']:.0f} MB")
    print(f"bare sqlite {bare_rate:10,.0f} reports/s   import / bare = {rate / bare_rate:.2f}")

    with Project.open(work / "project") as project:
        from radcurate.engine.extraction import runner

        sample = [r[0] for r in project.db.execute("SELECT text FROM reports LIMIT 5000").fetchall()]
        extractor = runner.make_extractor(project, "rules")
        vocabulary = project.vocabulary
        start = time.perf_counter()
        for text in sample:
            extractor.extract(text, vocabulary)
        alone = len(sample) / (time.perf_counter() - start)
        summary = project.extract("rules")
        job = summary.todo / summary.seconds
        ratio = job / alone
        print(f"extraction  {job:10,.0f} reports/s as a job; extractor alone {alone:,.0f}/s; job / alone = {ratio:.2f}")

        status = timed(project.status)
        worklist = timed(lambda: project.worklist(reader="dr_a"))
        one = timed(lambda: project.silver(f"s{n // 2:06d}"))
        print(f"status      {status:8.3f} s")
        print(f"worklist    {worklist:8.3f} s   ({n:,} studies)")
        print(f"one study   {one * 1000:8.2f} ms  (labels)")


if __name__ == "__main__":
    main()
