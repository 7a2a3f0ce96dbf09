"""Provenance (DESIGN §4): labels and decisions remember the report text they were made against.

A re-import with changed text leaves every old row in place, marked stale; "labelled" and
"reviewed" follow the text's sha256; one model name on two endpoints never shares answers.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from radcurate.engine.project import Project
from radcurate.engine.store import studies
from radcurate.engine.vocabulary import LabelState
from tests.conftest import LLM_TEST_KEY, add_studies


def radcurate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "radcurate.engine.cli", *args], capture_output=True, text=True)


def write_reports(path: Path, rows: dict[str, str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["study_id", "report_text"])
        writer.writerows(rows.items())
    return path


def test_changed_report_text_makes_old_labels_and_decisions_stale_and_deletes_nothing(tmp_path: Path) -> None:
    project_dir = str(tmp_path / "p")
    assert radcurate("init", project_dir, "--preset", "demo").returncode == 0
    first = write_reports(tmp_path / "r1.csv", {"case_1": "FINDINGS: Cardiomegaly. No pleural effusion."})
    assert radcurate("import", project_dir, "--reports", str(first)).returncode == 0
    assert radcurate("extract", project_dir, "--extractor", "rules").returncode == 0
    decided = radcurate("decide", project_dir, "case_1", "Cardiomegaly", "present", "--reader", "dr_a")
    assert decided.returncode == 0, decided.stderr

    second = write_reports(tmp_path / "r2.csv", {"case_1": "FINDINGS: Normal heart size. Right pleural effusion."})
    assert radcurate("import", project_dir, "--reports", str(second)).returncode == 0

    labels = json.loads(radcurate("labels", project_dir, "--study", "case_1", "--json").stdout)
    assert len(labels) == 18 and all(lab["stale"] for lab in labels)  # kept, all marked stale
    assert {lab["finding"]: lab["state"] for lab in labels}["Cardiomegaly"] == "present"
    history = json.loads(radcurate("history", project_dir, "case_1", "--json").stdout)
    assert [(d["finding"], d["state"], d["stale"]) for d in history] == [("Cardiomegaly", "present", True)]
    status = json.loads(radcurate("status", project_dir, "--json").stdout)
    assert status["stale"] == {"labels": 18, "decisions": 1} and status["reviewed_studies"] == 0

    # a new extraction labels the new text (the old labels do not count as "already labelled")
    rerun = json.loads(radcurate("extract", project_dir, "--extractor", "rules", "--json").stdout)
    assert (rerun["labelled"], rerun["skipped"]) == (1, 0)
    labels = json.loads(radcurate("labels", project_dir, "--study", "case_1", "--json").stdout)
    current = {lab["finding"]: lab["state"] for lab in labels if not lab["stale"]}
    assert len(labels) == 36 and current["Pleural effusion"] == "present" and current["Cardiomegaly"] != "present"
    with Project.open(project_dir) as project:
        assert project.silver("case_1")["Pleural effusion"].state is LabelState.PRESENT
        assert project.gold("case_1", reader="dr_a") == {}  # the stale decision is not gold for the new text
        assert project.worklist(reader="dr_a")[0].status == "unreviewed"
        old = project.db.execute("SELECT sha256 FROM report_versions").fetchall()
        assert len(old) == 1 and old[0][0] == history[0]["report_sha256"]  # the first text is kept
        assert "Cardiomegaly" in studies.report_text_version(project.db, "case_1", old[0][0])
    # unchanged text re-imported: nothing becomes stale, nothing is relabelled
    assert radcurate("import", project_dir, "--reports", str(second)).returncode == 0
    again = json.loads(radcurate("extract", project_dir, "--extractor", "rules", "--json").stdout)
    assert (again["labelled"], again["skipped"]) == (0, 1)


def test_decisions_record_the_report_hash_and_the_series(project: Project) -> None:
    add_studies(project, {"s1": "Cardiomegaly."})
    decision = project.decide("s1", "Cardiomegaly", "present", reader="dr_a")
    assert decision.report_sha256 == project.report("s1").sha256 and not decision.stale
    assert decision.series_id is None  # the study has no series: nothing shown to record


def test_one_model_on_two_endpoints_gives_two_sources_and_no_shared_cache(project: Project, monkeypatch) -> None:
    from tests.llm_server import serve

    monkeypatch.setenv("OPENAI_API_KEY", LLM_TEST_KEY)
    add_studies(project, {f"c{i}": f"FINDINGS: Cardiomegaly. Case {i}." for i in range(3)})
    with serve(LLM_TEST_KEY) as a, serve(LLM_TEST_KEY) as b:
        one = project.extract("llm", model="same-model", base_url=a.base_url, timeout_s=2.0, max_retries=1)
        two = project.extract("llm", model="same-model", base_url=b.base_url, timeout_s=2.0, max_retries=1)
        assert one.source != two.source and one.source.startswith("llm:same-model@127.0.0.1:")
        assert (a.chat_requests, b.chat_requests) == (3, 3)  # the second server was asked, not the cache
        assert (one.cache_hits, two.cache_hits) == (0, 0)
        keys = [r[0] for r in project.db.execute("SELECT key FROM llm_cache").fetchall()]
        assert len(keys) == len(set(keys)) == 6
        sources = {s.name for s in project.label_sources(kind="extractor")}
        assert {one.source, two.source} <= sources
        # --refresh asks again instead of serving the cache, and relabels every report
        refreshed = project.extract(
            "llm", model="same-model", base_url=a.base_url, timeout_s=2.0, max_retries=1, refresh=True
        )
        assert (refreshed.labelled, refreshed.cache_hits, a.chat_requests) == (3, 0, 6)
