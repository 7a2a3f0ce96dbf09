"""Start the review app from the command line: Qt checks, the reader's name, the event loop, exit code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from radcurate.engine.errors import RadcurateError
from radcurate.engine.project import Project


def qt_binding_problem() -> str | None:
    """Why the installed Qt binding cannot run the app, or None.

    PySide6 6.12.0 on CPython < 3.12 drops a reference to ``None`` (and ``True``/``False``) on every
    call of a method that returns them; after a few thousand calls (minutes of use) the
    interpreter aborts with ``none_dealloc``. 3.12+ makes those objects immortal, so it is safe there.
    """
    import sys

    import qtpy

    version = getattr(qtpy, "PYSIDE_VERSION", None) if qtpy.API_NAME == "PySide6" else None
    if version and version.startswith("6.12.0") and sys.version_info < (3, 12):
        return (
            f"PySide6 {version} crashes on Python {sys.version_info.major}.{sys.version_info.minor} "
            "(a reference-count bug); install another version: pip install 'PySide6!=6.12.0'"
        )
    return None


NO_READER = (
    "radcurate review closes: every decision is stamped with the reader's name, and none was given.\n"
    "Start it again and type your name, or pass it: radcurate review DIR --reader NAME"
)


def ask_reader(parent: Any = None) -> str | None:
    """Ask the reader's name once per session (stamped on every decision); on cancel say why the app closes."""
    from qtpy.QtWidgets import QInputDialog, QMessageBox

    name, ok = QInputDialog.getText(
        parent, "radcurate review", "Your name (stamped on every decision):", text=os.environ.get("USER", "")
    )
    name = name.strip()
    if ok and name:
        return name
    QMessageBox.information(parent, "radcurate review", NO_READER)
    return None


def launch(
    directory: str | Path,
    *,
    reader: str | None = None,
    saved_log: str | Path | None = None,
    keys_from_stdin: bool = False,
    show_volumes: bool = True,
    study: str | None = None,
) -> int:
    """Open the review app on a project folder and run until the window closes; returns an exit code."""
    problem = qt_binding_problem()
    if problem:
        raise RadcurateError(problem)
    import napari

    project = Project.open(directory)
    viewer = napari.Viewer(title=f"radcurate review — {project.path.name}")
    reader = reader or ask_reader(viewer.window._qt_window)
    if not reader:
        import sys

        print(NO_READER.splitlines()[0], file=sys.stderr)
        viewer.close()
        project.close()
        return 1
    from radcurate.desktop.app import ReviewApp

    app = ReviewApp(viewer, project, reader, show_volumes=show_volumes, saved_log=saved_log)
    viewer.title = f"radcurate review — {project.path.name} — {reader}"
    app.start(study)
    driver = None
    if keys_from_stdin:
        from radcurate.desktop.driver import StdinKeyDriver

        driver = StdinKeyDriver(app)
        driver.start()
    napari.run()
    app.close()
    project.close()
    return 0
