"""The extraction job (offline path) and reference-label import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import ExtractionError, InputError
from radcurate.engine.extraction import runner
from radcurate.engine.extraction.reference import parse_value
from radcurate.engine.extraction.runner import run_extraction
from radcurate.engine.jobs import records as jobs
from radcurate.engine.project import Project
from radcurate.engine.store import studies
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.vocabulary import LabelState, Vocabulary
from tests.conftest import add_studies


class KeywordExtractor:
    """A tiny offline extractor: a finding named in the text is present, else not mentioned."""

    name = "keywords"
    version = "1"

    def __init__(self, *, cancel_after: int | None = None, project_path: Path | None = None) -> None:
        self.calls = 0
        self.cancel_after = cancel_after
        self.project_path = project_path

    def extract(self, text: str, vocabulary: Vocabulary) -> list[SilverLabel]:
        self.calls += 1
        if self.cancel_after is not None and self.calls == self.cancel_after:
            with Project.open(self.project_path) as other:  # someone presses Cancel meanwhile
                other.cancel_job(other.jobs()[0].id)
        if "[garbled]" in text:
            raise ExtractionError("cannot read this report")
        if "[crash]" in text:
            raise ZeroDivisionError("plugin bug")
        if "[short]" in text:
            return [SilverLabel(vocabulary.findings[0], LabelState.PRESENT)]
        if "[bad state]" in text:  # a plugin that fills ``state`` with its own word
            return [SilverLabel(name, "probably") for name in vocabulary]  # type: ignore[arg-type]
        out = []
        for name in vocabulary:
            at = text.lower().find(name.lower())
            if at >= 0:
                out.append(SilverLabel(name, LabelState.PRESENT, text[at : at + len(name)], at, at + len(name)))
            else:
                out.append(SilverLabel(name, LabelState.NOT_MENTIONED))
        return out


def many(n: int) -> dict[str, str]:
    return {f"r{i:04d}": f"Report {i}: cardiomegaly." for i in range(n)}


def test_offline_run_labels_quarantines_and_goes_on(project: Project) -> None:
    add_studies(
        project,
        {
            "ok": "Emphysema and cardiomegaly.",
            "garbled": "[garbled]",
            "crash": "[crash]",
            "short": "[short]",
            "bad": "[bad state]",
            "plain": "Nothing.",
        },
    )
    summary = run_extraction(project, KeywordExtractor())
    assert (summary.status, summary.reports, summary.labelled, summary.quarantined) == ("done", 6, 2, 4)
    labels = project.silver("ok")
    assert labels["Emphysema"].state is LabelState.PRESENT and labels["Emphysema"].start == 0
    assert list(labels) == list(project.vocabulary)
    reasons = {r.path: r.reason for r in project.quarantine("extraction")}
    assert reasons["garbled"] == "keywords: cannot read this report"
    assert reasons["crash"] == "keywords crashed: ZeroDivisionError: plugin bug"
    assert "returned 1 labels for 18 findings" in reasons["short"]
    assert "unusable labels" in reasons["bad"] and "unknown label state 'probably'" in reasons["bad"]
    assert project.db.execute("SELECT count(*) FROM label_sets WHERE study_id = 'bad'").fetchone()[0] == 0
    job = project.jobs()[0]
    assert (job.kind, job.status, job.progress, job.total) == ("extract", "done", 6, 6)
    source = project.label_sources()[0]
    assert (source.name, source.kind, source.version, source.studies) == ("keywords", "extractor", "1", 2)


def test_rerun_skips_labelled_reports_and_relabels_on_new_version_or_new_text(project: Project) -> None:
    add_studies(project, many(30))
    first = KeywordExtractor()
    run_extraction(project, first, limit=10)
    assert first.calls == 10
    second = KeywordExtractor()
    summary = run_extraction(project, second)
    assert (second.calls, summary.skipped, summary.labelled) == (20, 10, 20)
    assert run_extraction(project, KeywordExtractor()).todo == 0
    with write_transaction(project.db):  # a report re-imported with new text is labelled again
        studies.upsert_report(project.db, "r0003", "Now with emphysema.", source="test")
    third = KeywordExtractor()
    run_extraction(project, third)
    assert third.calls == 1 and project.silver("r0003")["Emphysema"].state is LabelState.PRESENT
    newer = KeywordExtractor()
    newer.version = "2"
    assert run_extraction(project, newer).labelled == 30
    # the labels of r0003's first text stay, stale, beside the current ones (nothing is deleted)
    assert project.db.execute("SELECT count(*) FROM silver_labels").fetchone()[0] == 30 * 18 + 18
    assert project.status()["stale"]["labels"] == 18


def test_cancel_stops_at_a_commit_and_keeps_what_was_committed(project: Project) -> None:
    add_studies(project, many(3000))
    # big enough for the process pool: the workers run ahead of the parent (the one writer), which
    # sees the cancel at its next commit (by count or by time: on a busy machine, the very first)
    extractor = KeywordExtractor(cancel_after=150, project_path=project.path)
    summary = run_extraction(project, extractor)
    assert summary.status == "cancelled"
    assert 0 < summary.labelled < 3000
    assert project.jobs()[0].status == "cancelled"
    stored = project.db.execute("SELECT count(DISTINCT study_id) FROM silver_labels").fetchone()[0]
    assert stored == summary.labelled
    rest = run_extraction(project, KeywordExtractor())
    assert rest.skipped == stored and rest.labelled == 3000 - stored


def test_silver_defaults_to_the_most_recently_run_extractor_having_labels(project: Project) -> None:
    add_studies(project, {"a": "Cardiomegaly.", "b": "Emphysema."})
    run_extraction(project, KeywordExtractor())
    other = KeywordExtractor()
    run_extraction(project, other, source="second", limit=1)
    assert project.label_sources()[0].name == "second"
    assert project.silver("a") == project.silver("a", source="second")
    assert project.silver("b") == project.silver("b", source="keywords")  # "second" never labelled b
    assert project.silver("nope") == {}


# --------------------------------------------------------------------------- reference labels
def test_import_ctrate_binary_labels_quarantines_unknown_studies(project: Project, shared_data: Path) -> None:
    file = shared_data / "ctrate-gold-18" / "reports_labels.csv"
    import csv

    rows = list(csv.DictReader(file.open(encoding="utf-8")))
    add_studies(project, {r["AccessionNo"]: r["report_text"] for r in rows[:550]})
    summary = project.import_labels(file, source="ctrate", id_column="AccessionNo")
    assert (summary.rows, summary.imported, summary.quarantined) == (600, 550, 50)
    assert summary.findings == list(project.vocabulary) and summary.ignored_columns == ["report_text"]
    records = project.quarantine("labels")
    assert len(records) == 50 and records[0].field == "AccessionNo"
    assert "no study" in records[0].reason and records[0].path.endswith("reports_labels.csv:552")
    counts = dict(
        project.db.execute(
            "SELECT state, count(*) FROM silver_labels WHERE source = 'ctrate' GROUP BY state"
        ).fetchall()
    )
    assert set(counts) == {"present", "absent"} and sum(counts.values()) == 550 * 18
    positives = sum(int(r["Lung nodule"]) for r in rows[:550])
    got = project.db.execute(
        "SELECT count(*) FROM silver_labels WHERE source = 'ctrate' AND finding = 'Lung nodule' AND state = 'present'"
    ).fetchone()[0]
    assert got == positives
    assert project.label_sources("reference")[0].details["id_column"] == "AccessionNo"
    # importing again replaces, it does not duplicate
    assert project.import_labels(file, source="ctrate").imported == 550
    assert project.db.execute("SELECT count(*) FROM silver_labels").fetchone()[0] == 550 * 18


def test_import_four_state_and_chexpert_values(project: Project, tmp_path: Path) -> None:
    add_studies(project, {"a": "x", "b": "y", "c": "z", "d": "w"})
    file = tmp_path / "labels.csv"
    file.write_text(
        "study,Cardiomegaly,emphysema,Notes\n"
        "a,1.0,-1.0,hi\n"
        "b,0.0,,\n"
        "c,present,not_mentioned,\n"
        "d,maybe,absent,\n"
        "a,1,1,dup\n",
        encoding="utf-8",
    )
    summary = project.import_labels(file, source="chex")
    assert (summary.imported, summary.quarantined, summary.ignored_columns) == (3, 2, ["Notes"])
    assert summary.findings == ["Cardiomegaly", "Emphysema"] and len(summary.missing_findings) == 16
    states = {s: {f: lab.state.value for f, lab in project.silver(s, source="chex").items()} for s in "abc"}
    assert states == {
        "a": {"Cardiomegaly": "present", "Emphysema": "uncertain"},
        "b": {"Cardiomegaly": "absent", "Emphysema": "not_mentioned"},
        "c": {"Cardiomegaly": "present", "Emphysema": "not_mentioned"},
    }
    bad = {r.path.rsplit(":", 1)[1]: r for r in project.quarantine("labels")}
    assert bad["5"].field == "Cardiomegaly" and "'maybe' is not a label value" in bad["5"].reason
    assert "appears twice" in bad["6"].reason


def test_import_refuses_files_it_cannot_use(project: Project, tmp_path: Path) -> None:
    add_studies(project, {"a": "x"})
    no_findings = tmp_path / "x.csv"
    no_findings.write_text("id,foo\na,1\n")
    with pytest.raises(InputError, match="no column is named after a finding"):
        project.import_labels(no_findings, source="x")
    with pytest.raises(InputError, match=r"no column 'acc'"):
        project.import_labels(no_findings, source="x", id_column="acc")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,Cardiomegaly\né,1\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        project.import_labels(latin, source="x")
    run_extraction(project, KeywordExtractor())
    ok = tmp_path / "ok.csv"
    ok.write_text("id,Cardiomegaly\na,1\n")
    with pytest.raises(InputError, match="already exists as a extractor source"):
        project.import_labels(ok, source="keywords")


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("1", "present"),
        ("1.0", "present"),
        ("0", "absent"),
        ("-1.0", "uncertain"),
        ("", "not_mentioned"),
        (" Absent ", "absent"),
        ("NOT_MENTIONED", "not_mentioned"),
        ("2", None),
        ("yes please", None),
    ],
)
def test_parse_value(value: str, state: str | None) -> None:
    parsed = parse_value(value)
    assert (parsed.value if parsed else None) == state


# --------------------------------------------------------------------------- CLI
def radcurate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_cli_extract_rules_import_labels_agreement_jobs_cancel(tmp_path: Path, shared_data: Path) -> None:
    file = shared_data / "ctrate-gold-18" / "reports_labels.csv"
    path = str(tmp_path / "p")
    assert radcurate("init", path).returncode == 0
    assert (
        radcurate(
            "import", path, "--reports", str(file), "--id-column", "AccessionNo", "--text-column", "report_text"
        ).returncode
        == 0
    )
    out = radcurate("extract", path, "--extractor", "rules", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert (summary["status"], summary["labelled"], summary["source"]) == ("done", 600, "rules")
    out = radcurate("import-labels", path, str(file), "--source", "ctrate", "--id-column", "AccessionNo", "--json")
    assert json.loads(out.stdout)["imported"] == 600
    out = radcurate("agreement", path, "--reference", "ctrate", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {"reference", "candidate", "findings", "macro", "studies"}
    assert result["candidate"] == "rules" and result["studies"] == 600 and len(result["findings"]) == 18
    assert set(result["findings"]["Lung nodule"]) == {"precision", "recall", "f1", "kappa", "support"}
    assert result["findings"]["Lung nodule"]["support"] == 280
    assert result["macro"]["f1"] > 0.5  # the rules extractor's own accuracy is tested with it
    listed = json.loads(radcurate("jobs", path, "--json").stdout)
    assert [j["status"] for j in listed] == ["done"] and listed[0]["progress"] == 600
    out = radcurate("cancel", path, str(listed[0]["id"]), "--json")
    assert json.loads(out.stdout)["status"] == "done"  # finished jobs stay as they are
    bad = radcurate("agreement", path, "--reference", "nobody")
    assert bad.returncode == 1 and "no label source 'nobody'" in bad.stderr
    assert radcurate("extract", path, "--extractor", "rules", "--model", "x").returncode == 2


def test_extract_job_params_round_trip(project: Project) -> None:
    add_studies(project, {"a": "Cardiomegaly."})
    summary = run_extraction(project, KeywordExtractor(), limit=1)
    job = jobs.get(project.db, summary.job)
    assert job.params == {"extractor": "keywords", "source": "keywords", "limit": 1, "batch": False}


def test_a_process_pool_labels_exactly_as_one_process(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big runs spread the rules over the cores; the store gets the same labels, in the same order."""
    from radcurate.engine.extraction import local_pool

    add_studies(project, many(40))
    serial = run_extraction(project, runner.make_extractor(project, "rules"), source="serial")
    monkeypatch.setattr(local_pool, "POOL_MIN_REPORTS", 10)
    monkeypatch.setattr(local_pool, "CHUNK", 7)
    extractor = runner.make_extractor(project, "rules")
    assert local_pool.workers_for(extractor, 40) >= (2 if (os.cpu_count() or 1) > 1 else 0)
    pooled = run_extraction(project, extractor, source="pooled")
    assert (serial.labelled, pooled.labelled) == (40, 40)
    for study in project.study_ids():
        assert project.silver(study, source="pooled") == project.silver(study, source="serial")
