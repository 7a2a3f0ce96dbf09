"""``radcurate review DIR --smoke``: start the whole app on a project, load the first case, quit.

The desktop bundle (``packaging/``) is checked with it: a frozen app can import fine and still
miss what is found at run time — entry points (the loaders, extractors and the ``review`` command
are read from the ``radcurate`` distribution's metadata), napari's npe2 manifests (from the
``napari.manifest`` entry points), vispy's shaders, Qt's platform plugins. This opens the project,
checks the plugins resolve, builds the review window (napari viewer, docks, keys), opens the first
open case and loads its volume through the engine's loader plugin in napari's worker thread, then
closes everything and returns 0 — or prints what failed and returns 1. It never asks for a name
(decisions are not made) and works offscreen (``QT_QPA_PLATFORM=offscreen``: the volume is loaded
but not drawn, as napari cannot add an image layer without OpenGL).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from radcurate.engine.project import Project

SMOKE_READER = "smoke-test"
REQUIRED_PLUGINS = {"loaders": {"dicom", "nifti"}, "extractors": {"rules"}, "commands": {"review"}}
LOAD_TIMEOUT_S = 120.0


def check_plugins() -> list[str]:
    """Problems with radcurate's entry points (a missing built-in, a broken one), or []."""
    from radcurate.engine.contracts.plugins import discover

    problems = []
    found = discover()
    for info in found:
        if not info.ok:
            problems.append(f"plugin {info.group}/{info.name} is broken: {info.reason}")
    for group, names in REQUIRED_PLUGINS.items():
        missing = names - {p.name for p in found if p.group == group}
        if missing:
            problems.append(f"no {group} plugin named {', '.join(sorted(missing))} (entry points not found)")
    return problems


def check_napari_manifest() -> str:
    """npe2 found radcurate's manifest (reader + widget): a one-line summary, or raise RuntimeError."""
    from npe2 import PluginManager

    manager = PluginManager.instance()
    manager.discover()
    try:
        manifest = manager.get_manifest("radcurate")
    except KeyError:
        raise RuntimeError("napari does not see the radcurate plugin (npe2 manifest not found)") from None
    contributions = manifest.contributions
    readers, widgets = len(contributions.readers or []), len(contributions.widgets or [])
    if not readers or not widgets:
        raise RuntimeError(f"radcurate's napari manifest has {readers} readers and {widgets} widgets")
    return f"napari plugin radcurate ({readers} reader, {widgets} widget)"


def _wait(until: Any, timeout_s: float) -> bool:
    """Run the Qt event loop until ``until()`` is true or ``timeout_s`` passes; returns ``until()``."""
    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not until() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    return bool(until())


def _display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("darwin", "win32"))


def run_smoke(directory: str | Path, *, show_volumes: bool | None = None, study: str | None = None) -> int:
    """Open ``directory`` in the review app, load the first case's volume, close; 0 ok, 1 failed.

    ``show_volumes`` None: draw the image only where a display exists (not offscreen). ``study``:
    open that case instead of the first open one.
    """
    try:
        return _smoke(Path(directory), _display_available() if show_volumes is None else show_volumes, study)
    except Exception as exc:  # the smoke test's whole point is to say what broke
        traceback.print_exc()
        print(f"smoke failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _smoke(directory: Path, show_volumes: bool, study_id: str | None) -> int:
    started = time.monotonic()
    problems = check_plugins()
    if problems:
        print("smoke failed: " + "; ".join(problems), file=sys.stderr)
        return 1
    import napari

    from radcurate.desktop.app import ReviewApp
    from radcurate.desktop.launcher import qt_binding_problem

    problem = qt_binding_problem()
    if problem:
        print(f"smoke failed: {problem}", file=sys.stderr)
        return 1
    project = Project.open(directory)
    if study_id is not None and study_id not in project.study_ids():
        project.close()
        print(f"smoke failed: no study {study_id!r} in {directory}", file=sys.stderr)
        return 1
    viewer = napari.Viewer(title=f"radcurate review — {project.path.name}", show=show_volumes)
    app = None
    try:
        napari_line = check_napari_manifest()
        app = ReviewApp(viewer, project, SMOKE_READER, show_volumes=show_volumes, poll_jobs=False)
        app.start(study_id)
        study = app.session.study_id
        if study is None:
            print(f"smoke failed: {directory} has no studies to open", file=sys.stderr)
            return 1
        results: list[Any] = []
        app.prefetcher.get(study, results.append)  # the app's own loader, in napari's worker thread
        if not _wait(lambda: bool(results) and (not show_volumes or app.shown_study == study), LOAD_TIMEOUT_S):
            print(f"smoke failed: the volume of {study} did not load within {LOAD_TIMEOUT_S:.0f} s", file=sys.stderr)
            return 1
        from radcurate.desktop.viewer.prefetch import LoadFailure

        result = results[0]
        if isinstance(result, LoadFailure):
            print(f"smoke failed: the volume of {study} did not load: {result}", file=sys.stderr)
            return 1
        image = "no image" if result is None else "×".join(str(n) for n in result.data.shape) + " voxels (Z×Y×X)"
        findings = len(app.session.rows)
        drawn = "drawn" if show_volumes else "loaded, not drawn (no display)"
        retrain = app.jobs.retrain  # offered only where torch is importable
        offered = "retrain offered" if retrain.isEnabled() else f"retrain not offered ({retrain.toolTip()})"
        print(
            f"smoke ok: {project.path.name}: case {study} opened ({findings} findings, volume {image}, {drawn}); "
            f"{napari_line}; {offered}; {time.monotonic() - started:.1f} s"
        )
        return 0
    finally:
        if app is not None:
            app.close()
        viewer.close()
        project.close()
        _settle()


def _settle() -> None:
    """Let Qt delete the closed window's objects while the QApplication lives (PySide6 can abort
    on them in the interpreter's final garbage collection)."""
    import gc

    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    gc.collect()
    QApplication.processEvents()
