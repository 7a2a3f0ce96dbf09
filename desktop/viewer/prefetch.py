"""Load case volumes off the UI thread and keep the next case ready, so a switch is instant.

:func:`load_display_volume` does all the slow work (decode the series through the engine,
transpose to napari's layout, make it contiguous) and runs in a napari ``thread_worker``.
:class:`VolumePrefetcher` keeps the few most recent results (an LRU keyed by study), starts at most
one load per study, and hands a result to everyone who asked for it, on the UI thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from radcurate.desktop.viewer.canvas import DisplayVolume, to_display
from radcurate.engine.project import Project


@dataclass(frozen=True)
class LoadFailure:
    """A load that raised (a worker must not *return* an exception: superqt would re-raise it)."""

    study_id: str
    error: BaseException

    def __str__(self) -> str:
        return str(self.error)


Result = DisplayVolume | None | LoadFailure
_SERIES = "\x00series\x00"  # a study id never holds it (ids are stripped text)


def _key(study_id: str, series_id: str | None) -> str:
    """Cache key: the study (its main series), or the study and one chosen series."""
    return study_id if series_id is None else f"{study_id}{_SERIES}{series_id}"


Waiter = Callable[[Result], None]


def series_label(record: Any) -> str:
    """How the canvas and the series picker name a series: description, slice thickness, size."""
    meta = record.metadata or {}
    parts = [str(meta.get("series_description") or meta.get("description") or "").strip()]
    kernel = str(meta.get("convolution_kernel") or "").strip()
    if kernel:
        parts.append(kernel)
    thickness = meta.get("slice_thickness")
    if thickness:
        parts.append(f"{float(thickness):g} mm")
    x, y, z = record.shape
    parts.append(f"{x}×{y}×{z}")
    return " · ".join(p for p in parts if p)


def load_display_volume(project: Project, study_id: str, series_id: str | None = None) -> DisplayVolume | None:
    """A series of the study (default: the main one, largest first as the store lists them) ready
    for napari; None if the study has none."""
    series = project.series(study_id)
    if series_id is not None:
        series = [s for s in series if s.id == series_id] or series
    if not series:
        return None
    volume = project.load_volume(series[0].id)
    return to_display(volume, study_id, series[0].id, series_label(series[0]))


class VolumePrefetcher:
    """At most one background load per study; results cached (LRU, ``capacity`` studies).

    ``loader(project, study_id)`` is what runs in the worker thread (tests and the benchmark pass
    their own). ``use_threads=False`` runs loads inline (for headless code paths).
    """

    def __init__(
        self,
        project: Project,
        *,
        capacity: int = 3,
        loader: Callable[[Project, str], DisplayVolume | None] = load_display_volume,
        use_threads: bool = True,
    ):
        self.project = project
        self.capacity = max(1, capacity)
        self.loader = loader
        self.use_threads = use_threads
        self._cache: OrderedDict[str, Result] = OrderedDict()
        self._workers: dict[str, Any] = {}
        self._waiters: dict[str, list[Waiter]] = {}

    def cached(self, study_id: str, series_id: str | None = None) -> bool:
        return _key(study_id, series_id) in self._cache

    def loading(self, study_id: str, series_id: str | None = None) -> bool:
        return _key(study_id, series_id) in self._workers

    def get(self, study_id: str, callback: Waiter, series_id: str | None = None) -> bool:
        """Call ``callback`` with the study's volume (``series_id``: that series, not the main one):
        now if cached (returns True), else when loaded."""
        key = _key(study_id, series_id)
        if key in self._cache:
            self._cache.move_to_end(key)
            callback(self._cache[key])
            return True
        self._waiters.setdefault(key, []).append(callback)
        self._start(key)
        return False

    def prefetch(self, study_id: str | None) -> None:
        """Start loading a study the reader will probably open next (no-op if cached or loading)."""
        if study_id and study_id not in self._cache:
            self._start(study_id)

    def clear(self) -> None:
        """Drop the cache and stop waiting for running loads (their results are discarded)."""
        self._cache.clear()
        self._waiters.clear()
        for worker in list(self._workers.values()):
            quit_ = getattr(worker, "quit", None)
            if quit_ is not None:
                quit_()
        self._workers.clear()

    def _start(self, study_id: str) -> None:
        if study_id in self._workers:
            return
        if not self.use_threads:
            self._finish(study_id, self._run(study_id))
            return
        from napari.qt.threading import create_worker

        worker = create_worker(self._run, study_id, _start_thread=False)
        worker.returned.connect(lambda result, sid=study_id: self._finish(sid, result))
        self._workers[study_id] = worker
        worker.start()

    def _run(self, key: str) -> Result:
        study_id, _, series_id = key.partition(_SERIES)
        try:
            if series_id:
                return load_display_volume(self.project, study_id, series_id)
            return self.loader(self.project, study_id)
        except Exception as exc:  # shown to the reader as "volume unavailable: …"
            return LoadFailure(study_id, exc)

    def _finish(self, study_id: str, result: Result) -> None:
        self._workers.pop(study_id, None)
        if not isinstance(result, LoadFailure):
            self._cache[study_id] = result
            self._cache.move_to_end(study_id)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        for waiter in self._waiters.pop(study_id, []):
            waiter(result)
