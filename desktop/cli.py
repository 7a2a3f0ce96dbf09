"""``radcurate review``: the desktop's command, registered through the ``radcurate.commands`` group.

The engine runs headless and never imports the desktop; it finds this module through its entry
point and calls :func:`register`. This module imports no Qt or napari itself: they are imported
when the command runs, so ``radcurate --help`` stays fast and a core install without the
``[desktop]`` extra gets a one-line message naming the extra instead of a traceback.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

import typer

from radcurate.engine.cli.app import console
from radcurate.engine.errors import InputError

DESKTOP_APP = "radcurate.desktop.launcher"
DESKTOP_KEYS = "radcurate.desktop.viewer.keys"
DESKTOP_SMOKE = "radcurate.desktop.smoke"


def _desktop(module: str):  # -> module
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"the review app needs the desktop extra ({exc.name or exc}); "
            "install it with: pip install 'radcurate[desktop]'",
            field="review",
        ) from None


def review(
    directory: Path = typer.Argument(..., help="Project folder."),
    reader: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.11
        None, "--reader", help="Your name, stamped on every decision (asked once if not given)."
    ),
    study: Optional[str] = typer.Option(None, "--study", help="Open this study first."),  # noqa: UP045
    keys: bool = typer.Option(False, "--keys", help="Print the key map and exit."),
    saved_log: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--saved-log", help="Append 'saved #ID …' to this file after each decision is committed."
    ),
    keys_from_stdin: bool = typer.Option(
        False, "--keys-from-stdin", help="Also read key names from stdin, one a line (scripted review)."
    ),
    no_volumes: bool = typer.Option(
        False, "--no-volumes", help="Do not show the CT image (reports and labels only; runs without OpenGL)."
    ),
    smoke: bool = typer.Option(
        False, "--smoke", help="Open the project and its first case's volume, then quit: 0, or 1 naming what broke."
    ),
) -> None:
    """Review silver labels against the report and the CT, keyboard first.

    Enter confirms every shown label of a case and opens the next; a finding's letter (shown in
    the findings table) selects it; P/A/U/N set its state; Ctrl+Z undoes; H shows every key.

    Example: radcurate review ~/ct-project --reader dr_a
    """
    if keys:
        from radcurate.engine.project import Project

        with Project.open(directory) as project:
            findings = list(project.vocabulary)
        console.print(_desktop(DESKTOP_KEYS).help_text(findings), highlight=False, markup=False, soft_wrap=True)
        return
    if smoke:  # the desktop bundle's check (packaging/smoke_test.sh); makes no decisions
        code = _desktop(DESKTOP_SMOKE).run_smoke(directory, show_volumes=False if no_volumes else None, study=study)
        if code:
            raise typer.Exit(code)
        return
    code = _desktop(DESKTOP_APP).launch(
        directory,
        reader=reader,
        saved_log=saved_log,
        keys_from_stdin=keys_from_stdin,
        show_volumes=not no_volumes,
        study=study,
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``review`` to the ``radcurate`` command line (the ``radcurate.commands`` contract)."""
    app.command()(review)
