"""Readers' agreement: ``agreement --reference reader:A --candidate reader:B`` is per-finding κ and F1
on the studies both readers decided."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.project import Project
from tests.conftest import add_studies


def test_reader_against_reader_on_studies_both_decided(project: Project) -> None:
    add_studies(project, {f"s{i}": "FINDINGS: Normal." for i in range(5)})
    a = ["present", "present", "absent", "absent", "present"]
    b = ["present", "absent", "absent", "absent"]  # B did not read s4
    for i, state in enumerate(a):
        project.decide(f"s{i}", "Emphysema", state, reader="A")
    for i, state in enumerate(b):
        project.decide(f"s{i}", "Emphysema", state, reader="B")
    project.decide("s0", "Cardiomegaly", "present", reader="A")  # only A: not compared

    result = project.agreement("reader:A", "reader:B")
    assert list(result.findings) == ["Emphysema"] and result.studies == 4
    emphysema = result.findings["Emphysema"]
    assert emphysema.studies == 4 and emphysema.support == 2
    # A as truth: 2 positives, B finds 1 of them, no false positive → P 1, R 0.5, F1 2/3; κ = 0.5
    assert (emphysema.precision, emphysema.recall) == (1.0, 0.5)
    assert emphysema.f1 == pytest.approx(2 / 3) and emphysema.kappa == pytest.approx(0.5)

    with pytest.raises(InputError, match="reader 'C' has no current decisions"):
        project.agreement("reader:A", "reader:C")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "radcurate.engine.cli",
            "agreement",
            str(project.path),
            "--reference",
            "reader:A",
            "--candidate",
            "reader:B",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["reference"] == "reader:A" and data["findings"]["Emphysema"]["kappa"] == 0.5
