"""A store that fails in words: each failure of the project database, met through the real CLI in a
subprocess, exits 1 with one line naming the file (no traceback), leaves the store intact
(``PRAGMA integrity_check``) and usable once the cause is gone."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from radcurate.engine.project import DATABASE_FILE, SETTINGS_FILE, Project
from radcurate.engine.store import database, quarantine
from tests.conftest import add_studies

REPO = Path(__file__).resolve().parents[3]


def radcurate(
    *args: str | Path, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec,
        cwd=REPO,
        timeout=60,
    )


def one_line_naming(result: subprocess.CompletedProcess[str], path: Path, *words: str) -> str:
    """The failure contract: exit 1, one line on stderr, naming ``path``, no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:  # too damaged to even check
        return str(exc)
    finally:
        conn.close()


def decisions_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def made(tmp_path: Path) -> Iterator[Path]:
    """A project folder with two studies (made in-process: only the failures go through the CLI)."""
    with Project.create(tmp_path / "p", preset="demo") as project:
        add_studies(project, {"s1": "Small left pleural effusion.", "s2": "No nodule."})
    yield tmp_path / "p"


DECIDE = ("s1", "Pleural effusion", "present", "--reader", "dr_a")


def test_a_lock_held_past_the_busy_timeout(made: Path) -> None:
    db_file = made / DATABASE_FILE
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN EXCLUSIVE')\n"
            "c.execute(\"UPDATE studies SET position = position\"); print('held', flush=True); time.sleep(60)",
            str(db_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        failed = radcurate("decide", made, *DECIDE, env={database.BUSY_TIMEOUT_ENV: "0.3"})
        one_line_naming(failed, db_file, "locked by another process", "0.3 s", database.BUSY_TIMEOUT_ENV)
    finally:
        holder.kill()
        holder.wait()
    assert radcurate("decide", made, *DECIDE).returncode == 0  # the lock is gone: usable again
    assert decisions_count(db_file) == 1 and integrity(db_file) == "ok"


def test_a_read_only_project(made: Path) -> None:
    db_file = made / DATABASE_FILE
    writable = {path: path.stat().st_mode for path in (made, *made.iterdir())}
    for path in writable:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        before = digest(db_file)
        failed = radcurate("decide", made, *DECIDE, preexec=_without_permission_override)
        one_line_naming(failed, db_file, "read-only", "writable")
        assert digest(db_file) == before
    finally:
        for path, mode in writable.items():  # the cause goes away: writable again
            path.chmod(mode)
    assert radcurate("decide", made, *DECIDE).returncode == 0
    assert decisions_count(db_file) == 1 and integrity(db_file) == "ok"


def _without_permission_override() -> None:
    """Root ignores permission bits: drop CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH from the bounding
    set, so the CLI (root still, owner of the files) is held to the read-only modes like anyone."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_write_that_fails_for_lack_of_space(made: Path) -> None:
    db_file = made / DATABASE_FILE
    limit = 64 * 1024  # bytes any file may grow to: the WAL cannot take a 100 kB note

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    big_note = "x" * 100_000
    failed = radcurate("decide", made, *DECIDE, "--note", big_note, preexec=small_disk)
    one_line_naming(failed, db_file, "free", "retry")
    assert decisions_count(db_file) == 0  # the refused write left nothing behind
    assert radcurate("decide", made, *DECIDE, "--note", "short").returncode == 0  # space again: usable
    assert decisions_count(db_file) == 1 and integrity(db_file) == "ok"


def test_a_damaged_page(made: Path) -> None:
    db_file = made / DATABASE_FILE
    with Project.open(made) as project:
        project.decide(*DECIDE[:3], reader="dr_a")
    conn = sqlite3.connect(db_file)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root_page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'decisions'").fetchone()[0]
    conn.close()
    assert not (made / f"{DATABASE_FILE}-wal").exists()  # everything is in the main file
    good = db_file.read_bytes()
    offset = (root_page - 1) * page_size
    damaged = bytearray(good)
    damaged[offset : offset + 8] = b"\xff" * 8  # the b-tree page header: no valid page type
    db_file.write_bytes(bytes(damaged))
    assert integrity(db_file) != "ok"

    line = one_line_naming(radcurate("history", made), db_file, "damaged", "backup")
    assert "malformed" in line
    assert db_file.read_bytes() == bytes(damaged)  # radcurate wrote nothing into the damaged file

    db_file.write_bytes(good)  # restored from the backup: usable again
    restored = radcurate("history", made, "--json")
    assert restored.returncode == 0 and len(json.loads(restored.stdout)) == 1
    assert integrity(db_file) == "ok"


@pytest.mark.parametrize("kind", ["empty", "foreign sqlite"])
def test_a_foreign_radcurate_db_is_refused_and_left_untouched(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    db_file = folder / DATABASE_FILE
    if kind == "empty":
        db_file.touch()
    else:
        conn = sqlite3.connect(db_file)
        conn.executescript(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts VALUES (1, 'x');"
        )
        conn.close()
    before = digest(db_file)
    one_line_naming(radcurate("init", folder), db_file, "empty" if kind == "empty" else "another program")
    one_line_naming(radcurate("status", folder), db_file, "not a radcurate" if kind == "empty" else "another program")
    assert digest(db_file) == before
    assert sorted(p.name for p in folder.iterdir()) == [DATABASE_FILE]  # no -wal/-shm, no settings, no folders
    if kind != "empty":
        assert integrity(db_file) == "ok"
        db_file.unlink()  # the cause gone: init works
        assert radcurate("init", folder, "--preset", "demo").returncode == 0
        assert integrity(db_file) == "ok"


def test_a_text_file_named_radcurate_db_is_not_opened() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / DATABASE_FILE
        path.write_text("study_id,label\n", encoding="utf-8")
        assert "not an SQLite file" in (database.file_problem(path) or "")
        with pytest.raises(Exception, match="not an SQLite file"):
            database.connect(path)
        assert path.read_text(encoding="utf-8") == "study_id,label\n"


KILL_AT = {
    # killed while the store is being built (schema made, vocabulary not yet written)
    "building": "from radcurate.engine.store import migrations as m\n"
    "real = m.apply\n"
    "m.apply = lambda db: (real(db), os.kill(os.getpid(), signal.SIGKILL))\n",
    # killed after the store is built, while the settings file is written (before the rename)
    "settings": "from radcurate.engine.files import atomic as a\n"
    "a.write_text = lambda *args, **kw: os.kill(os.getpid(), signal.SIGKILL)\n",
}


@pytest.mark.parametrize("point", sorted(KILL_AT))
def test_a_sigkill_during_init_leaves_a_folder_init_accepts(tmp_path: Path, point: str) -> None:
    folder = tmp_path / "new"
    code = (
        "import os, signal, sys\n"
        + KILL_AT[point]
        + "from radcurate.engine.cli.app import run\nsys.argv = ['radcurate', 'init', sys.argv[1]]\nrun()\n"
    )
    killed = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, cwd=REPO)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (folder / DATABASE_FILE).exists()  # a half-made store never carries the project's name

    one_line_naming(radcurate("status", folder), folder, "init was interrupted")
    assert radcurate("init", folder, "--preset", "demo").returncode == 0  # init finishes the job
    with Project.open(folder) as project:
        assert project.status()["findings"] == 18
    assert integrity(folder / DATABASE_FILE) == "ok"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # leftovers cleared
    assert (folder / SETTINGS_FILE).exists()


def test_the_same_bad_file_seen_again_is_one_quarantine_record(project: Project) -> None:
    for _ in range(3):
        quarantine.add(project.db, "/data/broken.dcm", "PixelData", "truncated pixel data", "import")
    quarantine.add(project.db, "/data/broken.dcm", None, "not a DICOM file", "import")
    quarantine.add(project.db, "/data/broken.dcm", None, "not a DICOM file", "import")
    records = project.quarantine()
    assert [(r.field, r.seen) for r in records] == [("PixelData", 3), (None, 2)]
    assert records[0].last_seen >= records[0].time
    assert project.status()["quarantined"] == 2
