"""Desktop fixtures: a reviewed-ready phantom project (phantom → import → extract rules), viewers.

Tests that draw the CT image need a real display: run them under ``xvfb-run -a`` with
``QT_QPA_PLATFORM=xcb`` (napari cannot add an image layer on Qt's offscreen platform, which has
no OpenGL widget). They carry ``@pytest.mark.gui`` and skip with the reason when no display is
there. Everything else runs offscreen.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# napari keeps settings (the reader preference the app records) in a file: a throwaway one here
os.environ.setdefault("NAPARI_CONFIG", os.path.join(tempfile.mkdtemp(prefix="radcurate-napari-"), "settings.yaml"))

from radcurate.engine.project import Project  # noqa: E402

READER = "dr_test"
PHANTOM_CASES = 6
PHANTOM_SEED = 11


def display_available() -> bool:
    """A display napari can draw an image layer on (not Qt's offscreen platform)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if display_available():
        return
    skip = pytest.mark.skip(
        reason="needs a display for napari's OpenGL canvas: run under `xvfb-run -a` with QT_QPA_PLATFORM=xcb"
    )
    for item in items:
        if "gui" in item.keywords:
            item.add_marker(skip)


def build_phantom_project(folder: Path, cases: int = PHANTOM_CASES, seed: int = PHANTOM_SEED) -> Path:
    """The real pipeline: ``generate_cohort`` → ``Project.import_paths`` → ``Project.extract('rules')``."""
    from radcurate.engine.demo.phantom.cohort import generate_cohort

    cohort = folder / "cohort"
    generate_cohort(cohort, cases, seed)
    with Project.create(folder / "project", preset="demo") as project:
        project.import_paths([cohort])
        project.extract("rules")
    return folder / "project"


@pytest.fixture(scope="session")
def phantom_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One phantom project per test session; tests get copies (they write decisions)."""
    return build_phantom_project(tmp_path_factory.mktemp("phantom"))


@pytest.fixture
def phantom_project(phantom_template: Path, tmp_path: Path) -> Iterator[Project]:
    """A fresh copy of the phantom project, opened (volumes stay in the shared cohort folder)."""
    copy = tmp_path / "project"
    shutil.copytree(phantom_template, copy)
    with Project.open(copy) as project:
        yield project


@pytest.fixture
def viewer(qtbot):  # noqa: ANN001 - pytest-qt fixture
    """A napari viewer, closed after the test (shown only where a display exists)."""
    import napari

    v = napari.Viewer(show=display_available())
    yield v
    v.close()
    # Let Qt delete the closed window's objects now, while the QApplication is alive: left to the
    # interpreter's final garbage collection, PySide6 can abort on them (none_dealloc).
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    gc.collect()
    QApplication.processEvents()


@pytest.fixture
def review_app(viewer, phantom_project: Project):  # noqa: ANN001
    """The review app without the image layer (works offscreen), started on the first case."""
    from radcurate.desktop.app import ReviewApp

    app = ReviewApp(viewer, phantom_project, READER, show_volumes=False, poll_jobs=False)
    app.start()
    yield app
    app.close()


def press(viewer, *keys: str) -> None:  # noqa: ANN001
    """Real Qt key presses on the napari canvas (vispy → napari keymap → the bound function)."""
    from radcurate.desktop.driver import send_key

    canvas = viewer.window._qt_viewer.canvas.native
    for key in keys:
        send_key(canvas, key)
