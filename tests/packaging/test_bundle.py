"""The desktop bundle (packaging/): the built app starts offscreen on a fresh project and exits 0.

Building takes about ten minutes, so neither CI nor the usual test run builds it: this test runs
``packaging/smoke_test.sh`` against ``dist/radcurate-review/`` when that exists (``make bundle``)
and skips, saying so, when it does not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dist" / "radcurate-review" / "radcurate-review"
SMOKE_TEST = REPO / "packaging" / "smoke_test.sh"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not APP.is_file(), reason=f"desktop bundle not built ({APP}): run `make bundle` first"),
]


def test_bundle_opens_a_fresh_phantom_project_offscreen_and_exits_0(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path), "APP": str(APP)}
    done = subprocess.run(["bash", str(SMOKE_TEST)], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    opened = [line for line in done.stdout.splitlines() if line.startswith("smoke ok:")]
    assert len(opened) == 2, output  # the DICOM case and the NIfTI case
    assert "case phantom_0001 opened (18 findings, volume 40×56×64 voxels" in opened[0]
    assert "case phantom_0002 opened (18 findings, volume 40×56×64 voxels" in opened[1]
    for line in opened:
        assert "napari plugin radcurate (1 reader, 1 widget)" in line
        assert "retrain not offered" in line  # no torch in the bundle
    assert "bundle smoke test passed" in done.stdout
    assert not (APP.parent / "_internal" / "torch").exists()
