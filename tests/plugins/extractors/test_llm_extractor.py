"""The LLM extractor end to end: the real ``openai`` client against a real HTTP server on loopback.

Nothing is mocked: ``tests/llm_server.py`` speaks the chat-completions, files and batches
protocol, and every number asserted on (requests, retries, requests in flight) is counted there.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from radcurate.engine.errors import ExtractionError
from radcurate.engine.jobs import records as jobs
from radcurate.engine.project import Project
from radcurate.engine.store import llm_cache
from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.plugins.extractors.llm import prompt as llm_prompt
from radcurate.plugins.extractors.llm.extractor import LLMExtractor
from tests.conftest import LLM_TEST_KEY, add_studies
from tests.llm_server import report_key

MODEL = "test-model"


def reports(n: int, *, start: int = 0) -> dict[str, str]:
    """Distinct reports the server's keyword rule labels: Cardiomegaly present, Pleural effusion absent."""
    return {
        f"case_{i:04d}": f"FINDINGS: Case {i}. Cardiomegaly.\nNo pleural effusion. Lung nodule of {i % 9 + 2} mm."
        for i in range(start, start + n)
    }


def extract(project: Project, server, **options):
    options = {"model": MODEL, "base_url": server.base_url, "timeout_s": 2.0, "max_retries": 3, **options}
    return project.extract("llm", **options)


def test_correct_answers_become_labels_with_exact_evidence_tokens_and_cost(project: Project, llm_server) -> None:
    add_studies(project, reports(5))
    summary = extract(project, llm_server, price_input_per_mtok=2.0, price_output_per_mtok=8.0)
    assert (summary.status, summary.labelled, summary.quarantined, summary.requests) == ("done", 5, 0, 5)
    assert llm_server.chat_requests == 5 and llm_server.bad_requests == []
    labels = project.silver("case_0003")
    assert len(labels) == 18 and list(labels) == list(project.vocabulary)
    text = project.report("case_0003").text
    assert labels["Cardiomegaly"].state is LabelState.PRESENT
    assert labels["Pleural effusion"].state is LabelState.ABSENT
    assert labels["Emphysema"].state is LabelState.NOT_MENTIONED
    for label in labels.values():
        if label.evidence:
            assert text[label.start : label.end] == label.evidence
    # usage as the server reported it, priced per million tokens, and summed over labels
    usage = project.db.execute(
        "SELECT sum(tokens_in), sum(tokens_out), sum(cost_usd) FROM silver_labels WHERE source = ?", [summary.source]
    ).fetchone()
    assert usage[0] == summary.tokens_in > 0 and usage[1] == summary.tokens_out > 0
    assert usage[2] == pytest.approx((summary.tokens_in * 2.0 + summary.tokens_out * 8.0) / 1e6)
    assert summary.cost_usd == pytest.approx(usage[2])


def test_rerun_costs_zero_requests_and_cache_serves_a_new_source(project: Project, llm_server) -> None:
    add_studies(project, reports(12))
    extract(project, llm_server)
    assert llm_server.chat_requests == 12
    again = extract(project, llm_server)
    assert (again.skipped, again.todo, again.requests) == (12, 0, 0)
    # a new source needs labels, but every answer is in the cache: still zero requests
    other = extract(project, llm_server, source="llm-copy")
    assert (other.labelled, other.cache_hits, other.requests, other.cost_usd) == (12, 12, 0, 0.0)
    assert llm_server.chat_requests == 12
    assert project.silver("case_0001", source="llm-copy") == project.silver("case_0001", source=again.source)


def test_identical_report_texts_are_asked_once(project: Project, llm_server) -> None:
    add_studies(project, {"a": "Cardiomegaly.", "b": "Cardiomegaly.", "c": "No cardiomegaly."})
    summary = extract(project, llm_server)
    assert (summary.labelled, summary.requests) == (3, 2)
    assert llm_server.chat_requests == 2


def test_client_retries_429_500_and_timeouts_then_succeeds(project: Project, llm_server) -> None:
    add_studies(project, reports(3))
    llm_server.timeout_sleep_s = 1.5
    llm_server.fail_next("timeout", 429, 500)
    summary = extract(project, llm_server, concurrency=1, timeout_s=0.4, max_retries=4)
    assert (summary.labelled, summary.quarantined, summary.failed_requests) == (3, 0, 0)
    first = project.report("case_0000").text
    assert llm_server.per_report[report_key(first)] == 4  # timeout, 429, 500, then the answer
    assert llm_server.statuses[429] == 1 and llm_server.statuses[500] == 1
    assert llm_server.chat_requests == 6


def test_retries_exhausted_quarantines_the_report_without_caching_and_a_rerun_recovers(
    project: Project, llm_server
) -> None:
    add_studies(project, reports(4))
    llm_server.fail_next(503, 503, 503)  # first report: the attempt and both retries fail
    summary = extract(project, llm_server, concurrency=1, max_retries=2)
    assert (summary.labelled, summary.quarantined, summary.failed_requests) == (3, 1, 1)
    record = project.quarantine("extraction")[-1]
    assert record.path == "case_0000" and record.field == "request" and "request failed" in record.reason
    assert llm_cache.count(project.db) == 3
    rerun = extract(project, llm_server)
    assert (rerun.labelled, rerun.requests, rerun.skipped) == (1, 1, 3)


def test_malformed_answers_are_quarantined_per_report_and_the_rest_go_on(project: Project, llm_server) -> None:
    add_studies(project, reports(3))
    add_studies(
        project,
        {
            "bad_json": "Cardiomegaly. [bad-json]",
            "refused": "Cardiomegaly. [refusal]",
            "unknown": "Cardiomegaly. [unknown-finding]",
            "missing": "Cardiomegaly. [missing-finding]",
            "invented": "Cardiomegaly. [invented-quote]",
        },
    )
    summary = extract(project, llm_server)
    assert (summary.labelled, summary.quarantined, summary.flagged) == (4, 4, 1)
    reasons = {r.path: r for r in project.quarantine("extraction")}
    assert "not valid JSON" in reasons["bad_json"].reason
    assert "refused" in reasons["refused"].reason
    assert "'Dragon scales'" in reasons["unknown"].reason and "not in the vocabulary" in reasons["unknown"].reason
    assert "leaves out" in reasons["missing"].reason and "Interlobular septal thickening" in reasons["missing"].reason
    # the invented quote: label kept as uncertain and flagged, the report noted in quarantine
    assert reasons["invented"].field == "evidence" and "evidence_not_in_report" in reasons["invented"].reason
    flagged = project.silver("invented")["Medical material"]
    assert flagged.state is LabelState.UNCERTAIN and flagged.flags == ("evidence_not_in_report",)
    assert flagged.start is None and flagged.evidence == "a quote the report never says"
    assert project.silver("invented")["Cardiomegaly"].state is LabelState.PRESENT
    # malformed answers are cached: a rerun re-validates them without a single request
    before = llm_server.chat_requests
    rerun = extract(project, llm_server)
    assert (rerun.requests, rerun.cache_hits, rerun.quarantined) == (0, 4, 4)
    assert llm_server.chat_requests == before


def test_dry_run_estimates_chars_over_four_and_sends_nothing(project: Project, llm_server) -> None:
    texts = reports(7)
    add_studies(project, texts)
    extractor = LLMExtractor(model=MODEL, base_url=llm_server.base_url, price_input_per_mtok=1.0)
    from radcurate.engine.extraction.runner import estimate

    est = estimate(project, extractor)
    vocab = project.vocabulary
    fixed = len(llm_prompt.instructions(vocab)) + len(str(llm_prompt.response_format(vocab)))
    expected_in = sum(-(-(fixed + len(t)) // 4) for t in texts.values())
    assert (est.todo, est.requests, est.tokens_in) == (7, 7, expected_in)
    assert est.tokens_out == 7 * (8 + 30 * 18)
    assert est.cost_usd == pytest.approx((expected_in * 1.0 + est.tokens_out * 0.60) / 1e6)
    assert sum(llm_server.requests.values()) == 0


def test_concurrency_is_bounded_and_used(project: Project, llm_server) -> None:
    add_studies(project, reports(96))
    llm_server.latency_s = 0.4
    summary = extract(project, llm_server, concurrency=32)
    assert summary.labelled == 96
    # never above the bound; close to it (a loaded CI machine may start the last workers late,
    # so exact equality was flaky), and far above what a serial client would reach
    assert 24 <= llm_server.max_in_flight <= 32


def test_bad_key_stops_the_run_with_a_message_that_does_not_leak_it(
    project: Project, llm_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_studies(project, reports(40))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-0000")
    with pytest.raises(ExtractionError, match="refused the API key from OPENAI_API_KEY") as info:
        extract(project, llm_server)
    assert "sk-wrong-key-0000" not in str(info.value)
    assert project.quarantine("extraction") == []
    job = project.jobs()[0]
    assert job.status == "failed" and "refused the API key" in job.error
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ExtractionError, match="set the environment variable OPENAI_API_KEY"):
        extract(project, llm_server)


def test_batch_api_path_and_resume_of_an_open_batch(project: Project, llm_server) -> None:
    add_studies(project, reports(30))
    llm_server.batch_polls_until_done = 10**9  # the batch stays in progress until we say so
    box: dict[str, object] = {}

    def run() -> None:
        with Project.open(project.path) as p:
            box["summary"] = p.extract("llm", model=MODEL, base_url=llm_server.base_url, batch=True, batch_poll_s=0.02)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 20
    while not llm_server.batches and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    job = project.jobs()[0]
    project.cancel_job(job.id)
    worker.join(20)
    first = box["summary"]
    assert first.status == "cancelled" and first.labelled == 0 and len(first.batches) == 1
    source = project.label_sources()[0]
    assert source.details["open_batches"] == first.batches
    # the batch finishes later; the next run collects it instead of submitting a new one
    llm_server.batch_polls_until_done = 0
    second = extract(project, llm_server, batch=True, batch_poll_s=0.02)
    assert (second.status, second.labelled, second.requests) == ("done", 30, 30)
    assert len(llm_server.batches) == 1 and llm_server.chat_requests == 0
    assert "open_batches" not in project.label_sources()[0].details
    assert sum(llm_server.batch_per_report.values()) == 30
    assert project.silver("case_0007")["Cardiomegaly"].state is LabelState.PRESENT
    # batch answers are priced at the batch factor and cached like online ones
    assert second.cost_usd == pytest.approx((second.tokens_in * 0.15 + second.tokens_out * 0.60) / 1e6 * 0.5)
    assert extract(project, llm_server, source="again").requests == 0


def test_kill_9_mid_run_resumes_without_resending_stored_answers(tmp_path: Path, llm_server) -> None:
    path = tmp_path / "p"
    with Project.create(path, preset="demo") as project:
        add_studies(project, reports(240))
    llm_server.latency_s = 0.05
    env = {**os.environ, "OPENAI_API_KEY": LLM_TEST_KEY}
    argv = [
        sys.executable,
        "-m",
        "radcurate.engine.cli",
        "extract",
        str(path),
        "--extractor",
        "llm",
        "--model",
        MODEL,
        "--base-url",
        llm_server.base_url,
        "--concurrency",
        "4",
        "--json",
    ]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = sqlite3.connect(path / "radcurate.db", timeout=10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.execute("SELECT count(DISTINCT study_id) FROM silver_labels").fetchone()[0] >= 60:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    labelled = {s: t for s, t in db.execute("SELECT study_id, max(created_at) FROM silver_labels GROUP BY study_id")}
    cached = {k for (k,) in db.execute("SELECT report_sha256 FROM llm_cache")}
    db.close()
    assert 60 <= len(labelled) < 240
    asked_before = dict(llm_server.per_report)
    with Project.open(path) as project:
        assert project.jobs()[0].status == "interrupted"
        summary = extract(project, llm_server)
        assert summary.labelled + summary.skipped == 240 and summary.quarantined == 0
        assert summary.skipped == len(labelled)
        # committed labels survived untouched
        after = dict(project.db.execute("SELECT study_id, max(created_at) FROM silver_labels GROUP BY study_id"))
        assert all(after[s] == t for s, t in labelled.items())
    for sha in cached:  # no stored answer was asked for again
        assert llm_server.per_report[sha] == asked_before[sha]
    assert llm_server.chat_requests == sum(asked_before.values()) + (240 - len(cached))


def test_api_key_never_lands_in_the_project_logs_or_jobs(tmp_path: Path, llm_server) -> None:
    path = tmp_path / "p"
    with Project.create(path, preset="demo") as project:
        add_studies(project, reports(20))
        add_studies(project, {"bad": "Cardiomegaly. [bad-json]", "refused": "No x. [refusal]"})
    env = {**os.environ, "OPENAI_API_KEY": LLM_TEST_KEY}
    outputs = []
    for extra in ([], ["--batch"], ["--dry-run"]):
        llm_server.fail_next(500)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "radcurate.engine.cli",
                "extract",
                str(path),
                "--extractor",
                "llm",
                "--model",
                MODEL + "-".join(extra),
                "--base-url",
                llm_server.base_url,
                "--json",
                *extra,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        outputs += [out.stdout, out.stderr]
    with Project.open(path) as project:
        project.start_job("extract", {"extractor": "llm", "model": "via-job", "base_url": llm_server.base_url})
        deadline = time.monotonic() + 30
        while not project.jobs()[0].finished and time.monotonic() < deadline:
            time.sleep(0.1)
        assert project.jobs()[0].status == "done", project.jobs()[0].error
        outputs.append(json.dumps([j.as_json() for j in project.jobs()]))
    key = LLM_TEST_KEY.encode()
    leaks = [p for p in path.rglob("*") if p.is_file() and key in p.read_bytes()]
    assert leaks == []
    assert not any(LLM_TEST_KEY in text for text in outputs)


def test_sync_extract_uses_the_endpoint_once(llm_server) -> None:
    extractor = LLMExtractor(model=MODEL, base_url=llm_server.base_url, timeout_s=2, max_retries=1)
    labels = extractor.extract("Emphysema present. No cardiomegaly.", Vocabulary.default())
    by = {lab.finding: lab.state for lab in labels}
    assert by["Emphysema"] is LabelState.PRESENT and by["Cardiomegaly"] is LabelState.ABSENT
    assert llm_server.chat_requests == 1
    with pytest.raises(ExtractionError, match="refused to answer"):
        extractor.extract("x [refusal]", Vocabulary.default())


def test_job_record_holds_no_secret_and_names_the_key_variable(project: Project, llm_server) -> None:
    add_studies(project, reports(2))
    extract(project, llm_server)
    job = project.jobs()[0]
    assert jobs.get(project.db, job.id).status == "done"
    source = project.label_sources()[0]
    assert source.details["api_key_env"] == "OPENAI_API_KEY" and source.details["model"] == MODEL
    assert LLM_TEST_KEY not in json.dumps(source.details) + json.dumps(job.as_json())


def test_a_rerun_over_bad_answers_leaves_the_quarantine_count_unchanged(project: Project, llm_server) -> None:
    add_studies(project, reports(2))
    add_studies(
        project,
        {
            "bad_json": "Cardiomegaly. [bad-json]",
            "refused": "Cardiomegaly. [refusal]",
            "invented": "Cardiomegaly. [invented-quote]",
        },
    )
    extract(project, llm_server)
    first = [(r.path, r.field, r.reason) for r in project.quarantine()]
    assert len(first) == 3 and project.status()["quarantined"] == 3
    for _ in range(2):  # the same bad answers (from the cache) met twice more
        assert extract(project, llm_server).quarantined == 2
    again = project.quarantine()
    assert [(r.path, r.field, r.reason) for r in again] == first
    assert {r.path: r.seen for r in again} == {"bad_json": 3, "refused": 3, "invented": 1}  # labelled once
    assert project.status()["quarantined"] == 3


def test_every_request_failing_exits_1_saying_why_however_few_reports(project: Project) -> None:
    add_studies(project, reports(1))
    import socket

    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", "extract", str(project.path), "--extractor", "llm"]
        + ["--model", MODEL, "--base-url", f"http://127.0.0.1:{port}/v1", "--max-retries", "0", "--timeout", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENAI_API_KEY": LLM_TEST_KEY},
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "every request failed (1 of 1)" in line and "connection" in line.lower(), line
    job = project.jobs()[0]
    assert job.status == "failed" and "every request failed" in job.error


def test_a_store_that_refuses_writes_stops_the_requests(
    project: Project, llm_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_studies(project, reports(20))
    llm_server.latency_s = 0.05
    monkeypatch.setenv("RADCURATE_BUSY_TIMEOUT_S", "0.2")  # the writer thread's connection gives up quickly
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # another process's long write arrives after the first answers
        while llm_server.chat_requests < 2:
            time.sleep(0.01)
        other = sqlite3.connect(project.path / "radcurate.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(30)
        other.rollback()
        other.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            extract(project, llm_server, concurrency=1)
        assert locked.is_set()
        assert llm_server.chat_requests < 12  # stopped asking once the store refused, not all 20
    finally:
        release.set()
        holder.join()
    rerun = extract(project, llm_server)  # the lock gone: the rest is labelled, nothing asked twice
    assert rerun.status == "done" and rerun.labelled + rerun.skipped == 20
