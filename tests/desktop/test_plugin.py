"""radcurate as a napari plugin: the npe2 manifest, the reader, the widget; and `radcurate review`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radcurate.desktop.napari_plugin import ReviewPanel, get_reader, read_volumes
from tests.desktop.conftest import READER, display_available


def test_manifest_is_found_through_the_entry_point_and_valid() -> None:
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("radcurate")
    assert manifest.name == "radcurate"
    commands = {c.id: c.python_name for c in manifest.contributions.commands}
    assert commands["radcurate.read_ct"] == "radcurate.desktop.napari_plugin:get_reader"
    assert commands["radcurate.review_labels"] == "radcurate.desktop.napari_plugin:ReviewPanel"
    reader = manifest.contributions.readers[0]
    assert reader.accepts_directories and "*.nii.gz" in reader.filename_patterns
    assert [w.display_name for w in manifest.contributions.widgets] == ["Review labels"]
    result = subprocess.run(
        [Path(sys.executable).parent / "npe2", "validate", "radcurate"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_reader_opens_a_phantom_dicom_series_in_hu(phantom_project) -> None:  # noqa: ANN001
    series = next(s for sid in phantom_project.study_ids() for s in phantom_project.series(sid) if s.loader == "dicom")
    folder = str(Path(series.files[0]).parent)
    assert get_reader(folder) is read_volumes
    (data, meta, kind), *_ = read_volumes(folder)
    x, y, z = series.shape
    assert kind == "image" and data.shape == (z, y, x)
    assert tuple(meta["scale"]) == pytest.approx(tuple(reversed(series.spacing)))
    assert meta["metadata"]["loader"] == "dicom" and meta["colormap"] == "gray"
    assert data.min() >= -1100 and data.max() > 100  # air and tissue in HU


def test_reader_opens_a_phantom_nifti_file(phantom_project) -> None:  # noqa: ANN001
    series = [s for sid in phantom_project.study_ids() for s in phantom_project.series(sid) if s.loader == "nifti"]
    if not series:
        pytest.skip("this phantom cohort drew no NIfTI case")
    path = series[0].files[0]
    assert path.endswith((".nii", ".nii.gz")) and get_reader(path) is read_volumes
    (data, meta, _), *_ = read_volumes(path)
    volume = phantom_project.load_volume(series[0].id)
    assert np.array_equal(data, volume.array.transpose(2, 1, 0))
    assert tuple(meta["scale"]) == pytest.approx(tuple(reversed(volume.spacing)))


def test_reader_declines_what_it_cannot_read(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert get_reader(str(text)) is None
    assert get_reader([str(text), str(tmp_path)]) is None


def test_review_panel_needs_a_reader_and_a_project(viewer, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    panel = ReviewPanel(viewer)
    qtbot.addWidget(panel)
    panel.folder.setText(str(tmp_path))
    assert panel.start() is False and "name" in panel.message.text()
    panel.reader.setText(READER)
    assert panel.start() is False and "not a radcurate project" in panel.message.text()


@pytest.mark.gui
def test_review_panel_starts_a_review_in_the_users_viewer(viewer, phantom_project, qtbot) -> None:  # noqa: ANN001
    assert display_available()
    panel = ReviewPanel(viewer)
    qtbot.addWidget(panel)
    panel.folder.setText(str(phantom_project.path))
    panel.reader.setText(READER)
    assert panel.start()
    app = panel.app
    qtbot.waitUntil(lambda: app.shown_study == app.session.study_id, timeout=20000)
    from tests.desktop.conftest import press

    press(viewer, "Enter")
    assert len(phantom_project.history(reader=READER)) == len(phantom_project.vocabulary)
    app.close()


def test_review_command_prints_the_key_map_and_keeps_the_engine_headless(phantom_project) -> None:  # noqa: ANN001
    code = (
        "import sys; from radcurate.engine.cli.app import run; "
        "sys.argv = ['radcurate', 'review', sys.argv[1], '--keys']; "
        "run()"
    )
    result = subprocess.run([sys.executable, "-c", code, str(phantom_project.path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Enter" in result.stdout and "confirm case" in result.stdout and "Shift+C" in result.stdout
    probe = "import sys, radcurate.desktop.cli; print(sorted(m for m in sys.modules if 'qt' in m.lower()))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]"  # importing the command pulls in no Qt
