"""Opening the project database: WAL journal, durable commits, foreign keys, busy timeout.

Why these pragmas: WAL lets the desktop read while a job writes; ``synchronous=FULL`` makes a
commit durable before it returns (a reader's decision survives a power cut, not just a killed
process) and in WAL mode costs one fsync of the log per commit; ``foreign_keys`` makes the
database itself refuse a decision on a study that does not exist.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from pathlib import Path

import sqlite_utils

from radcurate.engine.errors import StoreError

BUSY_TIMEOUT_MS = 10_000


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with microseconds; sorts as text in commit order."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def connect(path: str | Path, *, create: bool = False) -> sqlite_utils.Database:
    """Open (or with ``create`` make) the SQLite file with the project's pragmas.

    ``isolation_level=None`` puts sqlite3 in autocommit mode so every transaction is explicit
    (``BEGIN IMMEDIATE`` … ``COMMIT``): nothing is ever left half-open by the driver.
    """
    path = Path(path)
    if not create and not path.exists():
        raise StoreError(f"{path}: no project database here (run `radcurate init` first)")
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"{path}: could not switch the database to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the project database ({exc})") from None
    return sqlite_utils.Database(conn)
