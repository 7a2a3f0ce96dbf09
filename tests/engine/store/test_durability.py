"""kill -9 while writing decisions: nothing reported as committed is lost, the file stays sound."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from radcurate.engine.project import Project

WRITER = Path(__file__).with_name("decision_writer.py")
KILLS = 50


def run_and_kill(project_path: Path, reader: str, rng: random.Random) -> list[int]:
    """Start the writer, let it commit for a random while, SIGKILL it; return the ids it reported."""
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(project_path), reader],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    reported: list[int] = []
    first = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("committed "):
                reported.append(int(line.split()[1]))
                first.set()

    reader_thread = threading.Thread(target=read, daemon=True)
    reader_thread.start()
    if not first.wait(timeout=60):
        child.kill()
        raise AssertionError(f"writer never committed: {child.stderr.read() if child.stderr else ''}")
    time.sleep(rng.uniform(0.0, 0.05))  # a random moment: mid-transaction, mid-fsync, between writes
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader_thread.join(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return reported


@pytest.mark.slow
def test_sigkill_loses_no_committed_decision(project_with_studies: Project) -> None:
    path = project_with_studies.path
    project_with_studies.close()
    rng = random.Random(20261122)
    reported: list[int] = []
    for round_ in range(KILLS):
        reported += run_and_kill(path, reader=f"reader_{round_ % 3}", rng=rng)

    conn = sqlite3.connect(path / "radcurate.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0] for row in conn.execute("SELECT id FROM decisions")}
    missing = sorted(set(reported) - stored)
    assert not missing, f"{len(missing)} decisions reported as committed were lost: {missing[:10]}"
    assert len(reported) >= KILLS  # every round committed something before its kill
    # The trail is consistent after all the kills: each row's previous_state is the state before it.
    last: dict[tuple[str, str, str], str | None] = {}
    for study, finding, reader, state, previous in conn.execute(
        "SELECT study_id, finding, reader, state, previous_state FROM decisions ORDER BY id"
    ):
        assert previous == last.get((study, finding, reader))
        last[(study, finding, reader)] = state
    with Project.open(path) as again:  # and the project still opens and takes new decisions
        again.decide("s1", "Emphysema", "present", reader="after")
