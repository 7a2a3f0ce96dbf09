"""The typer application: command registration, error → exit-code mapping, JSON output.

Exit codes (DESIGN §5): 0 ok; 1 a user error (a :class:`RadcurateError`), printed as one line on
stderr naming the file/field; 2 usage errors (typer/click's own). Each command module registers
its commands on :data:`app`; heavy imports happen inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from radcurate.engine import __version__
from radcurate.engine.errors import RadcurateError

app = typer.Typer(
    name="radcurate",
    help="Turn LLM-extracted silver labels from chest CT reports into gold.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _strict(data: Any) -> Any:
    """``data`` with NaN/inf (an AUC that could not be computed) as ``null``: strict JSON for ``jq``."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _strict(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_strict(v) for v in data]
    return data


def sigterm_as_interrupt() -> None:
    """A terminated job command (extract, train) closes its job as ``interrupted`` instead of leaving
    it ``running``: SIGTERM is raised as the KeyboardInterrupt the job runner already handles."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (tests driving the app in-process)
        pass


def progress_bar(*, elapsed: bool = True, remaining: bool = False, note: bool = False, stderr: bool = False) -> Any:
    """The commands' one rich progress bar: description, bar, M/N, then the chosen time columns and
    a ``note`` field; transient (gone when done). Built lazily so ``--help`` stays fast."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if elapsed:
        columns.append(TimeElapsedColumn())
    if remaining:
        columns.append(TimeRemainingColumn())
    if note:
        columns.append(TextColumn("{task.fields[note]}", style="dim"))
    return Progress(*columns, console=err_console if stderr else console, transient=True)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (plain, so pipes and ``jq`` get exactly the document)."""
    sys.stdout.write(json.dumps(_strict(data), indent=2, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def _version(value: bool) -> None:
    if value:
        print(f"radcurate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """radcurate: review, learn, ship, curate chest CT labels."""


# Command modules in the order their commands appear in --help (the loop of DESIGN §2).
COMMAND_MODULES = (
    "project_commands",
    "phantom_command",
    "inspect_command",
    "ingest_commands",
    "pacs_commands",
    "extraction_commands",
    "label_commands",
    "learning_commands",
    "ship_commands",
    "curate_commands",
    "demo_command",
)


def _register_commands() -> None:
    """Import the engine's command modules, then the ``radcurate.commands`` plugins (the desktop's
    ``review``): the engine never names the desktop, it finds it like any third-party command."""
    import importlib

    from radcurate.engine.contracts.plugins import working

    for name in COMMAND_MODULES:
        module = importlib.import_module(f"radcurate.engine.cli.{name}")
        if hasattr(module, "register"):
            module.register(app)
    for plugin in working("commands"):
        try:
            plugin.factory.register(app)  # type: ignore[union-attr]
        except Exception as exc:  # a broken plugin is reported by name, never takes the CLI down
            err_console.print(f"[yellow]warning:[/] command plugin {plugin.name!r} skipped: {escape(str(exc))}")


def _os_error_line(exc: OSError) -> str:
    """One line for a file the system refused (outside the database): the file, why, what to do."""
    import errno

    what = exc.strerror or str(exc)
    todo = {
        errno.EACCES: "check its permissions (or the folder's), then retry",
        errno.EPERM: "check its permissions (or the folder's), then retry",
        errno.EROFS: "the file system is read-only; use a writable folder",
        errno.ENOSPC: "free some space, then retry",
        errno.EFBIG: "the file is over a size limit; free space or raise the limit, then retry",
        errno.EDQUOT: "the disk quota is used up; free some space, then retry",
    }.get(exc.errno or 0)
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{what}" + (f"; {todo}" if todo else "")


def _import_sqlite_utils_without_pandas() -> None:
    """sqlite-utils imports pandas when it is installed, only to map ``pd.Timestamp`` columns (the
    engine never stores pandas values): that import is most of a command's start-up (about 1 s of
    the 1.6 s). Hide pandas while sqlite-utils loads; anything importing pandas later gets it."""
    if "sqlite_utils" in sys.modules or "pandas" in sys.modules:
        return
    sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` raise ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del sys.modules["pandas"]


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(1)


def run() -> None:
    """Console-script entry point: usage errors exit 2 (typer's standalone mode), user errors 1.

    The one place where failures become words: a :class:`RadcurateError`, any SQLite error met
    after the store was opened (locked, read-only, disk full, damaged: named with the database file,
    see :func:`radcurate.engine.store.database.store_error`) and a file the system refused each
    print one line and exit 1 — never a traceback.
    """
    _import_sqlite_utils_without_pandas()
    _register_commands()
    try:
        app()
    except RadcurateError as exc:
        _fail(str(exc))
    except sqlite3.Error as exc:
        from radcurate.engine.store.database import last_opened, store_error

        _fail(str(store_error(exc, last_opened())))
    except OSError as exc:
        _fail(_os_error_line(exc))
    except ModuleNotFoundError as exc:  # an optional extra this install lacks (the desktop bundle has no torch)
        extra = _EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        _fail(f"this needs {exc.name}, which this install lacks: pip install 'radcurate[{extra}]'")


#: Top-level modules of the optional extras, and the extra that brings each.
_EXTRAS = {"torch": "train", "monai": "train", "transformers": "train", "onnxscript": "train", "napari": "desktop"}
