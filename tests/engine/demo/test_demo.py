"""`radcurate demo`: the loop runs offline end to end, and a second run reuses everything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from radcurate.engine.demo.run import DEMO_READER, run_demo
from radcurate.engine.project import Project


def test_demo_runs_the_loop_and_is_idempotent(tmp_path: Path) -> None:
    first = run_demo(tmp_path / "demo", cases=4, seed=3).steps
    assert first["import"]["imported"] == {"studies": 4, "series": 4, "reports": 4}
    assert first["import"]["quarantined"] == []
    assert first["extract"]["labelled"] == 4
    assert first["agreement"]["macro"]["f1"] > 0.8
    assert first["status"]["labels"]["rules"] == 4 * 18
    assert len(first["review"]["newly_reviewed"]) == 3

    again = run_demo(tmp_path / "demo", cases=4, seed=3).steps
    assert again["phantom"]["reused"] and again["import"]["imported"] == {"studies": 0, "series": 0, "reports": 0}
    assert again["extract"]["labelled"] == 0 and again["review"]["newly_reviewed"] == []
    with Project.open(tmp_path / "demo" / "project") as project:
        trail = project.history(reader=DEMO_READER)
    assert len(trail) == first["review"]["decisions"] == 3 * 18


def test_demo_cli_json(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", "demo", str(tmp_path / "d"), "--cases", "2", "--json"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    steps = json.loads(out.stdout)["steps"]
    assert steps["status"]["studies"] == 2 and steps["status"]["quarantined"] == 0
