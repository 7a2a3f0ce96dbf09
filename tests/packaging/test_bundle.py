"""The desktop bundle (packaging/): the built app starts offscreen on a fresh project and exits 0.

Building takes about ten minutes, so neither CI nor the usual test run builds it: this test runs
``packaging/smoke_test.sh`` against ``dist/radcurate-review/`` when that exists (``make bundle``)
and skips, saying so, when it does not.
"""

from __future__ import annotations

import os
import signal
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


def run_smoke_test(env: dict[str, str], timeout_s: float) -> tuple[int, str, str]:
    """Run the script in its own process group, so a timeout stops the app it started too."""
    proc = subprocess.Popen(
        ["bash", str(SMOKE_TEST)],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"smoke test still running after {timeout_s:.0f} s:\n{stdout}\n{stderr}")
    return proc.returncode, stdout, stderr


def test_bundle_opens_a_fresh_phantom_project_offscreen_and_exits_0(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path), "APP": str(APP)}
    # the script took 9 min on a saturated 2-core machine (load average 10); far less when idle
    returncode, stdout, stderr = run_smoke_test(env, timeout_s=1800)
    output = stdout + stderr
    assert returncode == 0, output
    opened = [line for line in stdout.splitlines() if line.startswith("smoke ok:")]
    assert len(opened) == 2, output  # the DICOM case and the NIfTI case
    assert "case phantom_0001 opened (18 findings, volume 40×56×64 voxels" in opened[0]
    assert "case phantom_0002 opened (18 findings, volume 40×56×64 voxels" in opened[1]
    for line in opened:
        assert "napari plugin radcurate (1 reader, 1 widget)" in line
        assert "retrain not offered" in line  # no torch in the bundle
    assert "bundle smoke test passed" in stdout
    assert not (APP.parent / "_internal" / "torch").exists()
