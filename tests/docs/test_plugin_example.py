"""The guide's worked plugin example (docs/examples/radcurate-example-extractor) installs and runs.

"Installed" without pip: the example's folder goes on the path of a fresh interpreter together
with a minimal ``.dist-info`` whose ``entry_points.txt`` is the one its pyproject.toml declares —
exactly what ``pip install`` leaves in site-packages, so importlib.metadata finds the plugin the
way it finds any third-party package. Then the real CLI lists it and labels reports with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from radcurate.engine.project import Project
from radcurate.engine.store import labels as label_store
from tests.conftest import REPO, add_studies

EXAMPLE = REPO / "docs" / "examples" / "radcurate-example-extractor"
REPORTS = {
    "s1": "FINDINGS: No pleural effusion on the left. Bilateral pleural effusion is seen. No lung nodule.",
    "s2": "FINDINGS: Normal study.",
    "s3": "IMPRESSION: Cardiomegaly.",
}


def _fake_install(site: Path) -> None:
    """Write the dist-info pip would write for the example, entry points taken from its pyproject.toml."""
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    lines = []
    for group, entries in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def _radcurate(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_example_plugin_is_discovered_and_labels_reports(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _fake_install(site)
    path = [str(site), str(EXAMPLE), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    with Project.create(tmp_path / "project", preset="demo") as project:
        add_studies(project, REPORTS)

    listed = {(p["group"], p["name"]): p for p in json.loads(_radcurate(env, "plugins", "--json"))}
    example = listed[("radcurate.extractors", "example")]
    assert example["status"] == "ok", example["reason"]
    assert example["distribution"] == "radcurate-example-extractor"
    assert example["target"] == "radcurate_example_extractor:KeywordExtractor"

    run = json.loads(_radcurate(env, "extract", str(tmp_path / "project"), "--extractor", "example", "--json"))
    assert (run["source"], run["version"], run["labelled"], run["quarantined"]) == ("example", "1.0.0", 3, 0)

    with Project.open(tmp_path / "project") as project:
        s1 = label_store.labels_for(project.db, "s1", "example")
        s2 = label_store.labels_for(project.db, "s2", "example")
        s3 = label_store.labels_for(project.db, "s3", "example")
    assert len(s1) == len(s2) == len(s3) == 18  # one label per finding of the default vocabulary
    effusion = s1["Pleural effusion"]
    assert (effusion.state, effusion.evidence) == ("present", "Bilateral pleural effusion is seen")
    assert REPORTS["s1"][effusion.start : effusion.end] == effusion.evidence  # offsets point at the quote
    assert (s1["Lung nodule"].state, s1["Lung nodule"].evidence) == ("absent", "No lung nodule")
    assert s1["Cardiomegaly"].state == "not_mentioned"
    assert {label.state for label in s2.values()} == {"not_mentioned"}
    assert (s3["Cardiomegaly"].state, s3["Cardiomegaly"].evidence) == ("present", "IMPRESSION: Cardiomegaly")
