"""A site's archive: import, extraction, ranking and reads at N reports (default 100,000), side by side.

Prints in one run, each figure beside its reference (the machines here are shared and noisy, so the
load average is printed with the figures):

* report import: reports/s and peak memory (a child process, so the figure is the import's own),
  against a bare ``sqlite3`` ``executemany`` of the same rows (the physical limit here);
* extraction: the rules extractor as a job (process pool, labels checked and packed by the workers,
  written in batches) against the extractor alone on the same pool and cores (its labels dropped:
  nothing checked, packed, sent back or written);
* stored review priorities: the refresh after extraction and after a model scored every study,
  and one decision (its commit plus its study's new priority);
* reads: ``status``, worklist pages (first, middle, last; all studies and "to do"), status
  counts, the ranked worklist's top 50, the desktop's snapshot, one study's labels — each with
  the query plan of the page read;
* the desktop worklist opening on the project, to its first paint, in a child under ``xvfb-run``.

Usage::

    python benchmarks/scale.py [--reports N] [--keep DIR] [--results benchmarks/scale_results.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
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
    "Possible small left pleural effusion.",
]
FILLER = "The trachea and main bronchi are patent. The thyroid is unremarkable. " * 12  # ~1 kB like CT-RATE
READER = "dr_a"


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
    """Seconds for a bare executemany of the same rows (study + report, sha256) into a WAL database."""
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


def timed(fn, repeat: int = 5) -> float:  # noqa: ANN001
    """Best of ``repeat`` (seconds): the figure least disturbed by the other users of the machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


class Table:
    """Rows of (measure, figure, target / reference, load) printed as they come and kept for the file."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, measure: str, figure: str, against: str = "") -> None:
        row = (measure, figure, against, load())
        self.rows.append(row)
        print(f"{measure:<44} {figure:>16}   {against:<44} [{row[3]}]", flush=True)

    def markdown(self) -> str:
        lines = ["| measure | figure | target / reference | load (1, 5, 15 min) |", "|---|---:|---|---|"]
        lines += [f"| {m} | {f} | {a} | {ld.removeprefix('load ')} |" for m, f, a, ld in self.rows]
        return "\n".join(lines)


def _extract_only(texts: list[str]) -> int:
    """A pool worker's task for the reference run: the extractor on each text, the labels dropped."""
    from radcurate.engine.extraction import local_pool

    for text in texts:
        local_pool._worker_extractor.extract(text, local_pool._worker_vocabulary)
    return len(texts)


def extractor_alone(extractor, reports, vocabulary) -> float:  # noqa: ANN001
    """Reports/s of the extractor by itself on the job's pool (same workers, same chunks), nothing
    checked, packed, sent back or written: the speed the job is held to."""
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    from radcurate.engine.extraction import local_pool

    workers = local_pool.workers_for(extractor, len(reports)) or 1
    chunks = [[r.text for r in reports[i : i + local_pool.CHUNK]] for i in range(0, len(reports), local_pool.CHUNK)]
    payload = pickle.dumps((extractor, vocabulary))
    with ProcessPoolExecutor(workers, initializer=local_pool._init_worker, initargs=(payload,)) as pool:
        pool.submit(_extract_only, []).result()  # workers started before the clock, as the job's are warm
        start = time.perf_counter()
        done = sum(pool.map(_extract_only, chunks))
        return done / (time.perf_counter() - start)


def extraction(project, table: Table, n: int) -> None:  # noqa: ANN001
    from radcurate.engine.extraction import runner
    from radcurate.engine.extraction.local_pool import workers_for
    from radcurate.engine.store import studies

    extractor = runner.make_extractor(project, "rules")
    sample = studies.reports(project.db)[: min(n, 20_000)]
    before = extractor_alone(extractor, sample, project.vocabulary)
    cores = workers_for(extractor, len(sample)) or 1
    before_self, before_pool = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = runner.run_extraction(project, runner.make_extractor(project, "rules"))  # pool + batched writes
    after_self, after_pool = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    after = extractor_alone(extractor, sample, project.vocabulary)  # the job bracketed: load may change meanwhile
    alone = (before + after) / 2
    start = time.perf_counter()
    redone = project.refresh_priorities()  # what Project.extract does after the job
    refresh = time.perf_counter() - start
    job = summary.todo / summary.seconds
    bracket = f"the extractor alone, same pool: {alone:,.0f}/s (before {before:,.0f}, after {after:,.0f})"
    table.add("extraction as a job", f"{job:,.0f} reports/s", bracket)
    table.add("extraction job / extractor alone", f"{job / alone:.2f}", f"target ≥ 0.80 ({cores} worker processes)")
    writer = (after_self.ru_utime + after_self.ru_stime) - (before_self.ru_utime + before_self.ru_stime)
    pool = (after_pool.ru_utime + after_pool.ru_stime) - (before_pool.ru_utime + before_pool.ru_stime)
    table.add("extraction CPU: writer (parent) / pool", f"{writer:.0f} s / {pool:.0f} s", "the one writer's share")
    table.add("priority refresh after extraction", f"{refresh:.1f} s", f"{redone:,} studies ranked")


def scores(project, table: Table) -> None:  # noqa: ANN001
    """A model's scores for every study and finding, written as scoring writes them; then the refresh."""
    from radcurate.engine.store import scores as score_store
    from radcurate.engine.store.database import utc_now
    from radcurate.engine.store.decisions import write_transaction

    rng = random.Random(1)
    ids = project.study_ids()
    with write_transaction(project.db) as conn:
        cur = conn.execute(
            "INSERT INTO models (version, kind, label_snapshot, metrics, created_at) VALUES (?, 'supervised', 'x',"
            ' \'{"test_auc": {"macro": 0.8}}\', ?)',
            (f"bench-{utc_now()}", utc_now()),
        )
        score_store.put(conn, int(cur.lastrowid or 0), ((s, f, rng.random()) for s in ids for f in project.vocabulary))
    start = time.perf_counter()
    redone = project.refresh_priorities()
    table.add("priority refresh after scoring", f"{time.perf_counter() - start:.1f} s", f"{redone:,} studies ranked")


def decisions(project, table: Table) -> None:  # noqa: ANN001
    """A reader works through the top of the worklist: 200 cases confirmed, 50 half done."""
    top = [e.study_id for e in project.worklist_page(reader=READER, limit=250)]
    names = list(project.vocabulary)
    for study in top[:200]:
        project.confirm(study, {f: "absent" for f in names}, reader=READER)
    for study in top[200:]:
        project.decide(study, names[0], "present", reader=READER)
    one = timed(lambda: project.decide(top[0], names[1], "present", reader=READER))
    table.add("one decision (commit + its priority)", f"{one * 1000:.1f} ms", "the desktop waits for this")


def reads(project, table: Table, n: int) -> None:  # noqa: ANN001
    from radcurate.engine.review import worklist

    todo = ["unreviewed", "in_progress"]
    table.add("status", f"{timed(project.status):.3f} s", "target ≤ 0.5 s")
    for where, offset in (("first", 0), ("middle", n // 2), ("last", n - 100)):
        page = timed(lambda o=offset: project.worklist_page(reader=READER, offset=o, limit=100))
        table.add(f"worklist page of 100, {where}", f"{page * 1000:.1f} ms", "target ≤ 50 ms")
    page = timed(lambda: project.worklist_page(reader=READER, offset=n - 500, limit=100, statuses=todo))
    table.add("'to do' page of 100, near the end", f"{page * 1000:.1f} ms", "target ≤ 50 ms")
    page = timed(lambda: project.worklist_page(reader=READER, limit=100, statuses=["done"]))
    table.add("'done' page of 100", f"{page * 1000:.1f} ms", "target ≤ 50 ms")
    table.add("status counts", f"{timed(lambda: project.worklist_counts(reader=READER)) * 1000:.1f} ms", "≤ 50 ms")
    ranked = timed(lambda: project.ranked_worklist(reader=READER, limit=50))
    table.add("ranked worklist, top 50 with reasons", f"{ranked * 1000:.1f} ms", "was ~30 s at 20k (on read)")
    snap = timed(lambda: project.worklist_snapshot(reader=READER), repeat=3)
    table.add("desktop snapshot (every study, in order)", f"{snap * 1000:.0f} ms", f"{n:,} studies")
    full = timed(lambda: project.worklist(reader=READER), repeat=1)
    table.add("Project.worklist (every entry built)", f"{full:.2f} s", "the whole list, for reference")
    one = timed(lambda: project.silver(f"s{n // 2:06d}"))
    table.add("one study's labels", f"{one * 1000:.2f} ms", "")
    captured: list[str] = []  # the page's own statements, with their values (trace callback)
    project.db.conn.set_trace_callback(captured.append)
    project.worklist_page(reader=READER, offset=n - 500, limit=100, statuses=todo)
    project.db.conn.set_trace_callback(None)
    steps = [s for s in captured if s.lstrip().upper().startswith("SELECT") and "study_priority" in s]
    plan = " | ".join(
        "; ".join(r[3] for r in project.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()) for sql in steps
    )
    print(f"query plans of the last 'to do' page (ranked: {worklist.ranked(project.db)}): {plan}")


def desktop_open(project_dir: Path, table: Table) -> None:
    if shutil.which("xvfb-run") is None:
        table.add("desktop worklist open", "skipped", "no xvfb-run on this machine")
        return
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, str(HERE / "scale_gui.py")]
    runs = []
    for _ in range(3):
        out = subprocess.run([*cmd, str(project_dir)], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            table.add("desktop worklist open", "failed", out.stderr.strip().splitlines()[-1][:60])
            return
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["open_to_first_paint_s"])
    table.add(
        "desktop worklist: open to first paint",
        f"{best['open_to_first_paint_s']:.2f} s",
        f"target ≤ 1 s (snapshot {best['snapshot_read_s']:.2f} s, widget {best['widget_to_paint_s']:.2f} s)",
    )
    table.add("desktop worklist: scroll to the end", f"{best['scroll_to_end_s'] * 1000:.0f} ms", "to the next paint")
    table.add("desktop worklist: filter 'to do'", f"{best['filter_change_s'] * 1000:.0f} ms", "to the next paint")
    table.add("desktop worklist: entries built", f"{best['entries_built']:,}", f"of {best['studies']:,} studies")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="Work in this folder and keep it.")
    parser.add_argument("--results", type=Path, default=None, help="Write the table (Markdown) into this file.")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="radcurate-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    n = args.reports
    csv_path = work / "reports.csv"
    write_reports(csv_path, n)
    print(f"{n:,} reports, {csv_path.stat().st_size / 1e6:.0f} MB CSV in {work}; {os.cpu_count()} cores; {load()}")
    table = Table()

    from radcurate.engine.project import Project

    if (work / "project").exists():
        shutil.rmtree(work / "project")
    Project.create(work / "project", preset="demo").close()
    child = [sys.executable, "-c", IMPORT_CHILD, str(work / "project"), str(csv_path)]
    imported = json.loads(subprocess.run(child, capture_output=True, text=True, check=True).stdout)
    bare = bare_sqlite(work / "bare.db", csv_path)
    (work / "bare.db").unlink()
    rate, bare_rate = n / imported["seconds"], n / bare
    table.add("import", f"{rate:,.0f} reports/s", "target ≥ 10,000/s")
    table.add("import peak memory", f"{imported['rss_mb']:.0f} MB", "target ≤ 300 MB (a child process)")
    table.add("bare sqlite3 executemany", f"{bare_rate:,.0f} reports/s", f"import / bare = {rate / bare_rate:.2f}")

    with Project.open(work / "project") as project:
        start = time.perf_counter()
        project.refresh_priorities()  # the import's new studies (no labels yet)
        table.add("priority refresh after import", f"{time.perf_counter() - start:.1f} s", f"{n:,} studies")
        extraction(project, table, n)
        scores(project, table)
        decisions(project, table)
        reads(project, table, n)
    desktop_open(work / "project", table)
    if args.results:
        text = args.results.read_text() if args.results.exists() else ""
        marker = "<!-- table -->"
        body = f"{marker}\n{table.markdown()}\n{marker}"
        if text.count(marker) == 2:
            head, _, rest = text.partition(marker)
            text = head + body + rest.partition(marker)[2]
        else:
            text += "\n" + body + "\n"
        args.results.write_text(text)
        print(f"table written into {args.results}")


if __name__ == "__main__":
    main()
