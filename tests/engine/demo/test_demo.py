"""`radcurate demo`: the whole loop runs offline end to end, and a second run reuses everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from radcurate.engine.demo.readers import READER_A, READER_B
from radcurate.engine.demo.run import run_demo
from radcurate.engine.project import Project


@pytest.mark.slow
def test_demo_runs_the_whole_loop_and_a_second_run_reuses_it(tmp_path: Path) -> None:
    first = run_demo(tmp_path / "demo", cases=8, seed=3, epochs=1).steps
    assert first["import"]["imported"] == {"studies": 8, "series": 8, "reports": 8}
    assert first["import"]["quarantined"] == []
    assert first["extract"]["labelled"] == 8 and first["agreement"]["macro"]["f1"] > 0.8
    assert first["review"][READER_A]["studies"] >= 2 and first["review"]["unresolved_after"] == 0
    labels = first["review"]["train_labels"]  # readers correct against the truth: never more wrong
    before, after = labels["silver"], labels["trained_on"]
    assert labels["cells"] == labels["studies"] * 18 and labels["studies"] > 0
    assert after["wrong"] + after["masked"] <= before["wrong"] + before["masked"]
    assert after["right_share"] >= before["right_share"]
    for step in ("supervised_before", "supervised_after", "clip"):
        assert "id" in first[step]
    assert Path(first["export_onnx"]["bundle"], "manifest.json").is_file()
    assert first["triage"]["failures"] == 0 and first["triage"]["volumes"] == 8
    assert Path(first["export_dataset"]["out"], "manifest.json").is_file()

    again = run_demo(tmp_path / "demo", cases=8, seed=3, epochs=1).steps
    assert again["phantom"]["reused"] and again["import"]["imported"] == {"studies": 0, "series": 0, "reports": 0}
    assert again["extract"]["labelled"] == 0
    assert all(again[s].get("reused") for s in ("supervised_before", "supervised_after", "clip"))
    assert again["export_onnx"].get("reused")
    with Project.open(tmp_path / "demo" / "project") as project:
        decisions = len(project.history(reader=READER_A)) + len(project.history(reader=READER_B))
    assert decisions == first["status"]["decisions"] - first["review"]["dr_adjudicator"]["settled"]


def test_demo_cli_json_without_learning_steps_is_quick(tmp_path: Path) -> None:
    """The command's JSON document (the learning steps are covered above; here the CLI wiring)."""
    out = subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", "demo", str(tmp_path / "d"), "--cases", "4", "--epochs", "1",
         "--json"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    # each finished step stays on stderr with its time (in a log too, where no live bar is drawn)
    assert "✓ import volumes and reports" in out.stderr and "✓ export the de-identified curated dataset" in out.stderr
    assert doc["steps"]["status"]["studies"] == 4 and doc["steps"]["status"]["quarantined"] == 0
