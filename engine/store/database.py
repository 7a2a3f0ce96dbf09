"""Opening the project database: WAL journal, durable commits, foreign keys, busy timeout — and
saying in words why it failed.

Why these pragmas: WAL lets the desktop read while a job writes; ``synchronous=FULL`` makes a
commit durable before it returns (a reader's decision survives a power cut, not just a killed
process) and in WAL mode costs one fsync of the log per commit; ``foreign_keys`` makes the
database itself refuse a decision on a study that does not exist.

Why the checks before connecting: switching a file to WAL writes its header, and the migrations
create tables, so opening a file that is not a radcurate store (empty, not SQLite, another
program's database) would quietly change someone else's file. :func:`connect` reads the file
first and refuses those with a :class:`StoreError` before anything is written.

Why :func:`store_error`: an SQLite error met after the file is open (locked past the busy
timeout, a read-only folder, a full disk, a damaged page) must reach the user as one line naming
the file and what to do. The CLI maps every ``sqlite3.Error`` through it in one place, with the
path of the database this process opened (:func:`last_opened`).
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from radcurate.engine.errors import StoreError

#: How long a write waits for another process's write lock before giving up (milliseconds);
#: ``RADCURATE_BUSY_TIMEOUT_S`` (seconds) overrides it, e.g. for a slow network disk.
BUSY_TIMEOUT_MS = 10_000
BUSY_TIMEOUT_ENV = "RADCURATE_BUSY_TIMEOUT_S"
SQLITE_MAGIC = b"SQLite format 3\x00"
MIGRATION_SET = "radcurate"  # the sqlite-utils migration set name (engine/store/migrations.py)

FOREIGN = (
    "an SQLite database of another program (no radcurate schema); radcurate will not write into it: "
    "move it aside or use another folder"
)

_opened: list[Path] = []


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with microseconds; sorts as text in commit order."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def busy_timeout_ms() -> int:
    """The busy timeout in milliseconds: ``RADCURATE_BUSY_TIMEOUT_S`` if set (seconds), else 10 s."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return BUSY_TIMEOUT_MS
    try:
        seconds = float(raw)
    except ValueError:
        raise StoreError(f"{BUSY_TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    return max(0, int(seconds * 1000))


def last_opened() -> Path | None:
    """The database file this process opened most recently (what an SQLite error is about)."""
    return _opened[-1] if _opened else None


def path_of(db: sqlite_utils.Database) -> Path | None:
    """The file behind an open connection (``None`` for an in-memory database)."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row and row[2] else None


# --------------------------------------------------------------------------- what a file is
def file_problem(path: Path, *, schema: bool = True) -> str | None:
    """Why ``path`` (an existing file) is not a radcurate store, or ``None`` if it may be one.

    Reads the header and, with ``schema``, the schema through an immutable read-only handle:
    nothing is written, not even the ``-wal``/``-shm`` files beside it. (:func:`connect` checks the
    schema on its own connection instead, whose reads are consistent with other processes' writes.)
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        return f"cannot read the file ({exc.strerror or exc}); check its permissions"
    if size == 0:
        return "the file is empty (0 bytes), not a radcurate project database; delete it or use another folder"
    if head != SQLITE_MAGIC:
        return "not an SQLite file, so not a radcurate project database; move it aside or use another folder"
    if not schema:
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            ours = _has_radcurate_schema(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return store_error(exc, None).args[0]
    if not ours and not _has_wal_content(path):
        return FOREIGN
    return None


def _has_radcurate_schema(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'").fetchone()
    if not found:
        return False
    row = conn.execute("SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? LIMIT 1", [MIGRATION_SET]).fetchone()
    return row is not None


def _has_wal_content(path: Path) -> bool:
    """A WAL with frames may hold the schema the main file lacks yet (checked on the real connection)."""
    wal = path.with_name(path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


# --------------------------------------------------------------------------- opening
def connect(path: str | Path, *, create: bool = False) -> sqlite_utils.Database:
    """Open (or with ``create`` make) the SQLite file with the project's pragmas.

    ``isolation_level=None`` puts sqlite3 in autocommit mode so every transaction is explicit
    (``BEGIN IMMEDIATE`` … ``COMMIT``): nothing is ever left half-open by the driver. Without
    ``create`` the file must already be a radcurate store (see :func:`file_problem`).
    """
    path = Path(path)
    if not create:
        if not path.exists():
            raise StoreError(f"{path}: no project database here (run `radcurate init` first)")
        problem = file_problem(path, schema=False)
        if problem:
            raise StoreError(f"{path}: {problem}")
    timeout_ms = busy_timeout_ms()
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(str(path), timeout=timeout_ms / 1000, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        if not create and not _has_radcurate_schema(conn):
            raise StoreError(f"{path}: {FOREIGN}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"{path}: could not switch the database to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except (sqlite3.Error, StoreError) as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, StoreError):
            raise
        raise store_error(exc, path) from None
    _opened.append(path)
    del _opened[:-8]
    return sqlite_utils.Database(conn)


# --------------------------------------------------------------------------- making a new store
def partial_path(path: Path) -> Path:
    """Where a new store is built before it is renamed to ``path`` (so a half-built one is never ``path``)."""
    return path.with_name(f".{path.name}.partial")


def has_partial(path: Path) -> bool:
    """Did a build of ``path`` stop half-way (killed ``init``)?"""
    return partial_path(path).exists()


def _remove_partial(path: Path) -> None:
    tmp = partial_path(path)
    for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-wal", "-shm", "-journal"))):
        leftover.unlink(missing_ok=True)


def build_aside(path: Path, fill: Callable[[sqlite_utils.Database], None]) -> Path:
    """Build a new store next to ``path`` (leftovers of an interrupted build removed first) and return
    its temporary name; :func:`put_in_place` renames it to ``path``.

    ``fill`` makes the schema and first rows. The WAL is checkpointed into the file and the file
    fsynced, so the single file renamed into place holds everything.
    """
    _remove_partial(path)
    tmp = partial_path(path)
    db = connect(tmp, create=True)
    try:
        fill(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()
    wal = tmp.with_name(tmp.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(f"{tmp}: the new database could not be checkpointed; run `radcurate init` again")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    return tmp


def put_in_place(tmp: Path, path: Path) -> None:
    """Rename a store built by :func:`build_aside` to ``path`` (atomic; never over an existing file)."""
    if path.exists():
        raise StoreError(f"{path}: a database appeared here while the project was being made; not replaced")
    os.replace(tmp, path)
    _remove_partial(path)
    if os.name != "nt":  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- errors in words
_BUSY, _LOCKED, _PERM, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 3, 8, 10, 11, 13, 14, 26


def store_error(exc: sqlite3.Error, path: str | Path | None) -> StoreError:
    """One line for an SQLite error: the file, what happened, what to do (the CLI prints it, exit 1).

    Nothing committed is lost in any of these cases (SQLite rolls the failed transaction back), so
    the project is usable again once the cause is gone — except a damaged file, which needs a backup.
    """
    where = f"{path}: " if path else ""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    lowered = text.lower()
    if code in (_BUSY, _LOCKED) or "locked" in lowered:
        seconds = busy_timeout_ms() / 1000
        message = (
            f"the project database is locked by another process (a running job, the desktop or another radcurate "
            f"command) for more than {seconds:g} s; let it finish or stop it, then retry "
            f"({BUSY_TIMEOUT_ENV} sets how long to wait)"
        )
    elif code in (_READONLY, _PERM, _CANTOPEN) or "readonly" in lowered or "unable to open" in lowered:
        message = (
            f"cannot write the project database ({text}): the file or its folder is read-only for this user; "
            "make both writable (e.g. chmod u+w on the folder and radcurate.db*), then retry"
        )
    elif code == _FULL or "disk is full" in lowered:
        message = (
            "the disk is full (or a file-size limit was reached) while writing the project database; "
            "free some space, then retry (nothing committed was lost)"
        )
    elif code == _IOERR or "i/o error" in lowered:
        message = (
            f"the disk refused a read or write of the project database ({text}): it may be full, over a file-size "
            "limit or failing; free space or check the disk, then retry (nothing committed was lost)"
        )
    elif code == _CORRUPT or "malformed" in lowered:
        message = (
            f"the project database is damaged ({text}); stop writing to it and restore it from a backup "
            "(or salvage it with `sqlite3 radcurate.db .recover`)"
        )
    elif code == _NOTADB or "not a database" in lowered:
        message = "not an SQLite file, so not a radcurate project database; move it aside or use another folder"
    else:
        message = f"the project database refused the operation ({text})"
    return StoreError(where + message)
