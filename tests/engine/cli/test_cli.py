"""The command line: JSON shapes, exit codes 0/1/2, one-line errors naming the thing at fault."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from radcurate.engine.project import Project
from tests.conftest import add_studies


def radcurate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "radcurate.engine.cli", *args], capture_output=True, text=True)


def test_version() -> None:
    out = radcurate("--version")
    assert out.returncode == 0 and out.stdout.startswith("radcurate ")


def test_init_then_status_json_counts_all_zero_in_wal_mode(tmp_path: Path) -> None:
    assert radcurate("init", str(tmp_path / "p")).returncode == 0
    out = radcurate("status", str(tmp_path / "p"), "--json")
    assert out.returncode == 0, out.stderr
    counts = json.loads(out.stdout)
    assert {
        k: counts[k] for k in ("studies", "series", "reports", "decisions", "quarantined", "models", "jobs")
    } == dict.fromkeys(("studies", "series", "reports", "decisions", "quarantined", "models", "jobs"), 0)
    assert counts["labels"] == {}
    assert sqlite3.connect(tmp_path / "p" / "radcurate.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_decide_and_history(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        add_studies(project, {"case_1": "Cardiomegaly."})
    ok = radcurate(
        "decide",
        str(tmp_path / "p"),
        "case_1",
        "cardiomegaly",
        "present",
        "--reader",
        "dr_a",
        "--note",
        "heart is big",
        "--json",
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["finding"] == "Cardiomegaly"
    radcurate("decide", str(tmp_path / "p"), "case_1", "Cardiomegaly", "absent", "--reader", "dr_b")
    trail = json.loads(radcurate("history", str(tmp_path / "p"), "case_1", "--json").stdout)
    assert [(d["reader"], d["state"], d["previous_state"], d["note"]) for d in trail] == [
        ("dr_a", "present", None, "heart is big"),
        ("dr_b", "absent", None, None),
    ]
    table = radcurate("history", str(tmp_path / "p"))
    assert table.returncode == 0 and "2 decisions" in table.stdout


def test_decide_on_a_missing_study_fails_naming_it(tmp_path: Path) -> None:
    Project.create(tmp_path / "p").close()
    out = radcurate("decide", str(tmp_path / "p"), "ghost_study", "Cardiomegaly", "present", "--reader", "dr_a")
    assert out.returncode == 1
    assert "ghost_study" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_user_errors_exit_1_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = radcurate("status", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "not a radcurate project" in missing.stderr
    usage = radcurate("decide", str(tmp_path))
    assert usage.returncode == 2
    bad_vocab = tmp_path / "v.txt"
    bad_vocab.write_bytes(b"\xff\xfe bad")
    out = radcurate("init", str(tmp_path / "p"), "--vocabulary", str(bad_vocab))
    assert out.returncode == 1 and str(bad_vocab) in out.stderr and "UTF-8" in out.stderr


def test_plugins_json_lists_builtins() -> None:
    out = radcurate("plugins", "--json")
    assert out.returncode == 0
    listed = {(p["group"], p["name"]) for p in json.loads(out.stdout)}
    assert ("radcurate.loaders", "dicom") in listed and ("radcurate.extractors", "rules") in listed
