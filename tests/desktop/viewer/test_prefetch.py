"""Background volume loading: one load per study, results cached, handed out on the UI thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from radcurate.desktop.viewer.canvas import DisplayVolume, to_display
from radcurate.desktop.viewer.prefetch import LoadFailure, VolumePrefetcher, load_display_volume
from radcurate.engine.project import Project


class CountingLoader:
    def __init__(self, delay: float = 0.05):
        self.calls: list[str] = []
        self.threads: set[str] = set()
        self.delay = delay

    def __call__(self, _project: Project, study_id: str) -> DisplayVolume:
        self.calls.append(study_id)
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        return DisplayVolume(study_id, "s", np.zeros((2, 3, 4), np.int16), (1.0, 1.0, 1.0))


def test_one_load_per_study_in_a_worker_thread_and_lru(phantom_project: Project, qtbot) -> None:  # noqa: ANN001
    loader = CountingLoader()
    prefetcher = VolumePrefetcher(phantom_project, capacity=2, loader=loader)
    got: list[str] = []
    prefetcher.prefetch("a")
    prefetcher.prefetch("a")
    assert prefetcher.get("a", lambda v: got.append(v.study_id)) is False  # still loading
    qtbot.waitUntil(lambda: got == ["a"], timeout=5000)
    assert loader.calls == ["a"] and threading.main_thread().name not in loader.threads
    assert prefetcher.get("a", lambda v: got.append(v.study_id)) is True  # cached: answered at once
    assert got == ["a", "a"]
    for sid in ("b", "c"):
        prefetcher.prefetch(sid)
        qtbot.waitUntil(lambda sid=sid: prefetcher.cached(sid), timeout=5000)
    assert not prefetcher.cached("a") and prefetcher.cached("b") and prefetcher.cached("c")


def test_a_failed_load_is_reported_not_cached(phantom_project: Project, qtbot) -> None:  # noqa: ANN001
    def broken(_project: Project, study_id: str) -> DisplayVolume:
        raise OSError(f"files of {study_id} are gone")

    prefetcher = VolumePrefetcher(phantom_project, loader=broken)
    results: list[object] = []
    prefetcher.get("x", results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert isinstance(results[0], LoadFailure) and isinstance(results[0].error, OSError)
    assert not prefetcher.cached("x")


def test_real_phantom_volume_in_napari_layout(phantom_project: Project) -> None:
    study = next(s for s in phantom_project.study_ids() if phantom_project.series(s))
    shown = load_display_volume(phantom_project, study)
    series = phantom_project.series(study)[0]
    volume = phantom_project.load_volume(series.id)
    assert shown.data.shape == tuple(reversed(volume.shape)) and shown.data.flags["C_CONTIGUOUS"]
    assert shown.scale == pytest.approx(tuple(reversed(volume.spacing)))
    i, j, k = 10, 20, 5
    assert shown.data[k, j, i] == volume.array[i, j, k]
    assert to_display(volume).data.dtype == volume.array.dtype


def test_study_without_series_has_no_volume(phantom_project: Project) -> None:
    from tests.conftest import add_studies

    add_studies(phantom_project, {"report_only": "FINDINGS: Normal."})
    assert load_display_volume(phantom_project, "report_only") is None
