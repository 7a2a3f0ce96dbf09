"""kill -9 of the review app loses nothing it showed as saved.

The real app runs in a subprocess (``radcurate review DIR --keys-from-stdin --saved-log F``,
offscreen, without the image layer so no OpenGL is needed). Key names go in on stdin and become
real Qt key presses on the napari canvas: the same path as a keyboard. The app appends
``saved #<id>`` to the log only after ``Project.decide/confirm/undo`` returned (after COMMIT). We
SIGKILL it mid-stream, then check the store through the engine API: every logged id is there, and
the only stored decisions not logged belong to the one action that was in flight at the kill.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from radcurate.engine.project import Project
from tests.desktop.conftest import READER

pytestmark = pytest.mark.slow

# registers the `review` command explicitly, then runs the real CLI entry point
CLI = "from radcurate.engine.cli.app import run; run()"
KEYS = ("P", "Down", "A", "J", "U", "Enter", "N", "Up", "Control-Z", "Down", "P", "Enter", "PageUp", "A")


def _saved_ids(log: Path) -> list[int]:
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [int(line.split()[1].lstrip("#")) for line in lines if line.startswith("saved #")]


def _start(project: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-c", CLI, "review", str(project), "--reader", READER, "--no-volumes"]
    cmd += ["--keys-from-stdin", "--saved-log", str(log)]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


@pytest.mark.parametrize("kill_after", [7, 23, 41])
def test_sigkill_loses_no_decision_shown_as_saved(phantom_template: Path, tmp_path: Path, kill_after: int) -> None:
    import shutil

    project_dir = tmp_path / "project"
    shutil.copytree(phantom_template, project_dir)
    log = tmp_path / "saved.log"
    proc = _start(project_dir, log)
    deadline = time.monotonic() + 60
    keys = itertools.cycle(KEYS)
    try:
        while len(_saved_ids(log)) < kill_after:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "app exited"
            assert time.monotonic() < deadline, "the app did not save decisions in time"
            proc.stdin.write(f"{next(keys)}\n".encode())
            proc.stdin.flush()
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    shown = _saved_ids(log)
    assert len(shown) >= kill_after
    with Project.open(project_dir) as project:
        trail = project.history()
    stored = {d.id: d for d in trail}
    assert set(shown) <= set(stored), f"lost: {sorted(set(shown) - set(stored))}"
    in_flight = {stored[i].action for i in set(stored) - set(shown)}
    assert len(in_flight) <= 1, f"unlogged decisions from several actions: {sorted(in_flight)}"
    assert {d.reader for d in trail} == {READER}
