"""Extraction throughput: the rule-based extractor on one core, and the LLM path against loopback.

Run: python benchmarks/extraction.py [--rounds 5] [--llm-reports 1200] [--latency 0.2] [--concurrency 64]
     python benchmarks/extraction.py --accuracy

0. ``--accuracy``: per-finding F1 of the rule-based extractor against CT-RATE's labels, on the
   patient-level held-out split beside the in-sample (tuning) part, for both label conventions
   (``tests/plugins/extractors/ctrate_split.py``); nothing else runs.

1. Rule-based (``rules`` plugin) over CT-RATE's 600 real reports (../shared/data), pinned to one
   CPU core: the extractor alone (goal >= 2,000 reports/s), and as a job writing to a project.
2. The LLM path — real ``openai`` client, real HTTP, real project store — against
   ``tests/llm_server.py`` in its own process answering every request after ``--latency`` seconds
   (goal >= 100 reports/s at 200 ms), with the most requests in flight *as counted by the server*,
   then the rerun, which must send nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from radcurate.engine.errors import PluginError
from radcurate.engine.extraction.runner import make_extractor, run_extraction
from radcurate.engine.project import Project
from radcurate.engine.store import studies
from radcurate.engine.store.decisions import write_transaction

REPO = Path(__file__).resolve().parents[1]
CTRATE = REPO.parent / "shared" / "data" / "ctrate-gold-18" / "reports_labels.csv"
KEY = "sk-benchmark-not-a-secret"


def load_reports() -> list[tuple[str, str]]:
    if not CTRATE.exists():
        sys.exit(f"CT-RATE reports not found at {CTRATE}")
    with CTRATE.open(encoding="utf-8", newline="") as fh:
        return [(row["AccessionNo"], row["report_text"]) for row in csv.DictReader(fh)]


def new_project(root: Path, name: str, reports: list[tuple[str, str]]) -> Project:
    project = Project.create(root / name, preset="demo")
    with write_transaction(project.db):
        for study_id, text in reports:
            studies.ensure_study(project.db, study_id)
            studies.upsert_report(project.db, study_id, text, source="benchmark")
    return project


def bench_rules(root: Path, reports: list[tuple[str, str]], rounds: int) -> None:
    with new_project(root, "rules", reports) as project:
        try:
            extractor = make_extractor(project, "rules")
        except PluginError as exc:
            print(f"rule-based: skipped ({exc})")
            return
        vocabulary = project.vocabulary
        extractor.extract(reports[0][1], vocabulary)  # compile patterns outside the timing
        t0 = time.perf_counter()
        for _ in range(rounds):
            for _, text in reports:
                extractor.extract(text, vocabulary)
        seconds = time.perf_counter() - t0
        n = rounds * len(reports)
        verdict = "ok" if n / seconds >= 2000 else "BELOW GOAL"
        print(
            f"rule-based extractor ({extractor.name} {extractor.version}), 1 core: {n} CT-RATE reports in "
            f"{seconds:.2f} s -> {n / seconds:,.0f} reports/s (goal >= 2,000: {verdict})"
        )
        summary = run_extraction(project, extractor)
        print(
            f"  as a job into the store: {summary.labelled} reports in {summary.seconds:.2f} s -> "
            f"{summary.reports_per_s:,.0f} reports/s (labels committed, job recorded)"
        )


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "llm_server.py"), KEY, str(latency)], stdout=subprocess.PIPE, text=True
    )
    url = (proc.stdout.readline() if proc.stdout else "").strip()
    if not url.startswith("http"):
        proc.kill()
        sys.exit("the loopback LLM server did not start")
    return proc, url


def server_stats(url: str) -> dict:
    request = urllib.request.Request(url + "/_stats", headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def bench_llm(root: Path, reports: list[tuple[str, str]], n: int, latency: float, concurrency: int) -> None:
    # copies made distinct, so each is its own request (CT-RATE itself repeats a few texts: asked once)
    texts = [(f"{sid}_{k}", f"{text}\n[copy {k}]") for k in range(n // len(reports) + 1) for sid, text in reports][:n]
    proc, url = start_server(latency)
    os.environ["OPENAI_API_KEY"] = KEY
    try:
        with new_project(root, "llm", texts) as project:
            extractor = make_extractor(
                project,
                "llm",
                model="bench-model",
                base_url=url,
                concurrency=concurrency,
                timeout_s=30.0,
                max_retries=2,
            )
            t0 = time.perf_counter()
            summary = run_extraction(project, extractor)
            seconds = time.perf_counter() - t0
            stats = server_stats(url)
            verdict = "ok" if summary.labelled / seconds >= 100 else "BELOW GOAL"
            print(
                f"LLM path vs loopback server ({latency * 1000:.0f} ms per answer, concurrency {concurrency}): "
                f"{summary.labelled} reports in {seconds:.2f} s -> {summary.labelled / seconds:,.0f} reports/s "
                f"(goal >= 100: {verdict}); requests {stats['chat_requests']}, max in flight at the server "
                f"{stats['max_in_flight']}, quarantined {summary.quarantined}"
            )
            t0 = time.perf_counter()
            again = run_extraction(project, make_extractor(project, "llm", model="bench-model", base_url=url))
            after = server_stats(url)
            print(
                f"  rerun: {after['chat_requests'] - stats['chat_requests']} requests, {again.skipped} skipped, "
                f"{time.perf_counter() - t0:.2f} s"
            )
    finally:
        proc.kill()
        proc.wait()


def accuracy() -> None:
    sys.path.insert(0, str(REPO))  # the split lives beside the accuracy test that gates on it
    from radcurate.plugins.extractors.rules.extractor import RuleBasedExtractor
    from tests.plugins.extractors.ctrate_split import HELD_OUT, TUNE, predict, read_gold, score, table

    rows = read_gold(CTRATE.parent)
    held, tune = [r for r in rows if r.part == HELD_OUT], [r for r in rows if r.part == TUNE]
    for conventions in ("ctrate", "clinical"):
        predicted = predict(RuleBasedExtractor(conventions=conventions), rows)
        h, t = score(held, predicted), score(tune, predicted)
        print(table(h, t, f"rules, conventions={conventions}: per-finding F1, held-out vs in-sample (tuning part)"))
        print(f"  gap (held-out - in-sample) {h.macro_f1 - t.macro_f1:+.3f}; worst held-out {min(h.f1.values()):.3f}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accuracy", action="store_true", help="print held-out vs in-sample F1 and stop")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the 600 reports for the rules timing")
    parser.add_argument("--llm-reports", type=int, default=1200)
    parser.add_argument("--latency", type=float, default=0.2, help="server answer latency, seconds")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    if args.accuracy:
        accuracy()
        return
    reports = load_reports()
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    with tempfile.TemporaryDirectory() as tmp:
        if cores:
            os.sched_setaffinity(0, {min(cores)})  # "one core": the rules timing runs pinned
        bench_rules(Path(tmp), reports, args.rounds)
        if cores:
            os.sched_setaffinity(0, cores)
        bench_llm(Path(tmp), reports, args.llm_reports, args.latency, args.concurrency)


if __name__ == "__main__":
    main()
