"""The frozen review app's entry point (PyInstaller runs this as ``radcurate-review``).

``radcurate-review DIR [--reader NAME] [--smoke] …`` is ``radcurate review DIR …``; with no
arguments it asks for the project folder. ``radcurate-review -m radcurate.engine.cli ARGS`` runs
the whole ``radcurate`` command line: the engine starts jobs as ``sys.executable -m
radcurate.engine.cli COMMAND DIR --job ID`` (engine/jobs/launch.py), and in a frozen app
``sys.executable`` is this program, so that form must work here as it does under Python. The
bundle has no torch: ``train``/``export-onnx`` say so and exit 1; everything else runs.
"""

from __future__ import annotations

import multiprocessing
import sys

CLI_MODULE = ("-m", "radcurate.engine.cli")
_QT_APP: list[object] = []  # the QApplication made for the folder dialog lives on for napari


def _ask_project() -> str | None:
    """A double-click start: ask for the project folder (None if the reader cancels)."""
    from qtpy.QtWidgets import QApplication, QFileDialog

    _QT_APP.append(QApplication.instance() or QApplication(sys.argv[:1]))
    folder = QFileDialog.getExistingDirectory(None, "radcurate review: open a project folder")
    return folder or None


def main() -> None:
    multiprocessing.freeze_support()
    args = sys.argv[1:]
    if tuple(args[:2]) == CLI_MODULE:
        sys.argv = ["radcurate", *args[2:]]
    else:
        if not args:
            folder = _ask_project()
            if folder is None:
                return
            args = [folder]
        sys.argv = ["radcurate", "review", *args]
    from radcurate.engine.cli import main as radcurate

    radcurate()


if __name__ == "__main__":
    main()
