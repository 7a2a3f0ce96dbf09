"""Screenshots of the review app for the docs: ``python -m tools.screenshots PROJECT OUT``.

Opens the real app on a project, plays a few keys (a decision, a confirmed case, a finding with
its window), and saves the whole window (``review.png``), each dock (``worklist.png``,
``findings.png``, ``report.png``, ``triage.png``, ``jobs.png``), the coronal and sagittal views
and the key help. Needs a display (``xvfb-run -a`` works); the project's decisions are written
under the reader ``screenshots``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# confirm the first case (opens the second), call its atelectasis present, then select cardiomegaly
KEYS_BEFORE = ("Enter", "T", "P", "C")


def _pump(seconds: float) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def take(
    project_dir: Path, out: Path, *, finding: str = "Cardiomegaly", size: tuple[int, int] = (1680, 1050)
) -> list[Path]:
    """Save the screenshots; returns their paths."""
    import napari

    from radcurate.desktop.app import ReviewApp
    from radcurate.desktop.driver import send_key
    from radcurate.engine.project import Project

    out.mkdir(parents=True, exist_ok=True)
    project = Project.open(project_dir)
    viewer = napari.Viewer(title=f"radcurate review — {project.path.name} — screenshots")
    window = viewer.window._qt_window
    window.resize(*size)
    app = ReviewApp(viewer, project, "screenshots", poll_jobs=False)
    app.start()
    app.jobs.poll()
    canvas = viewer.window._qt_viewer.canvas.native
    _pump(2.0)
    for key in KEYS_BEFORE:
        send_key(canvas, key)
        _pump(0.5)
    _pump(1.5)
    saved = []

    def shot(name: str, widget: object = None) -> None:
        path = out / name
        if widget is None:
            viewer.screenshot(str(path), canvas_only=False, flash=False)
        else:
            widget.grab().save(str(path))  # type: ignore[attr-defined]
        saved.append(path)

    shot("review.png")
    docks = {"worklist.png": app.worklist, "findings.png": app.findings, "report.png": app.report}
    for name, widget in docks.items():
        shot(name, widget)
    app.jobs.parentWidget().raise_()
    _pump(0.3)
    shot("jobs.png", app.jobs)
    app.triage.parentWidget().raise_()
    _pump(0.3)
    shot("triage.png", app.triage)
    for key, name in (("Shift-C", "coronal.png"), ("Shift-S", "sagittal.png")):
        send_key(canvas, key)
        _pump(0.8)
        path = out / name
        viewer.screenshot(str(path), canvas_only=True, flash=False)
        saved.append(path)
    send_key(canvas, "Shift-A")
    send_key(canvas, "H")
    _pump(0.8)
    shot("keys.png")
    send_key(canvas, "H")
    app.close()
    viewer.close()
    project.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    for path in take(args.project, args.out):
        print(path)


if __name__ == "__main__":
    main()
