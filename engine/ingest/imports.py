"""Import: volumes and reports into a project, bad inputs into quarantine, the rest goes on.

The flow of ``radcurate import DIR PATH... [--reports FILE]``:

1. report files named with ``--reports`` are opened first, so a wrong column name fails the
   command before anything is written;
2. the folders are walked (:mod:`radcurate.engine.ingest.walk`) and every file is offered to each
   working loader plugin's ``discover`` in turn (headers only, no pixels); each loader sees only
   the files no earlier loader claimed;
3. report tables found in the folders join the ``--reports`` files; side files are ignored with
   a note; files nobody claims are quarantined;
4. reports are stored, then each volume source is loaded and stored.

Durability and cost: reports commit in batches (1,000 rows or 0.5 s, one transaction each) and
every series in its own transaction, so a killed import loses at most the open batch or the series
in progress, never leaves half a series, and a rerun redoes the rest without duplicates. A series' id is the
sha256 of its files' sha256s, checked *before* decoding: re-importing the same files reads them
once to hash them and decodes nothing ("unchanged").
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from radcurate.engine.contracts import plugins
from radcurate.engine.contracts.plugins import Discovery, Rejection, VolumeLoader, VolumeSource
from radcurate.engine.errors import InputError, PluginError
from radcurate.engine.ingest.reports import ReportEntry, ReportFile
from radcurate.engine.ingest.walk import IgnoredFile, sort_unclaimed, walk
from radcurate.engine.store import quarantine, studies
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.volumes.volume import Volume

STAGE_IMPORT = "import"
STAGE_REPORTS = "reports"
REPORT_BATCH_ROWS = 1000  # reports per transaction: one fsync per batch, not per row
REPORT_BATCH_S = 0.5  # ... or this many seconds, so progress and durability keep pace on slow files

Progress = Callable[[str, int, int | None], None]
"""``progress(phase, done, total)``: phase is "discovering", "reports" or "volumes"; total may be None."""


@dataclass
class ImportSummary:
    """What one import did (the ``import --json`` document)."""

    studies: int = 0
    series: int = 0
    reports: int = 0
    unchanged: int = 0
    quarantined: list[quarantine.QuarantineRecord] = field(default_factory=list)
    ignored: list[IgnoredFile] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": {"studies": self.studies, "series": self.series, "reports": self.reports},
            "unchanged": self.unchanged,
            "quarantined": [{"path": q.path, "field": q.field, "reason": q.reason} for q in self.quarantined],
            "ignored": [i.as_json() for i in self.ignored],
        }

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        text = (
            f"imported {self.studies} studies, {self.series} series, {self.reports} reports; "
            f"{self.unchanged} unchanged; {len(self.quarantined)} quarantined"
        )
        if self.ignored:
            text += f"; {len(self.ignored)} side files ignored"
        return text


# --------------------------------------------------------------------------- loaders
_LOADERS: dict[str, VolumeLoader] = {}


def loader_named(name: str) -> VolumeLoader:
    """One instance per loader plugin per process (entry-point discovery is not free)."""
    if name not in _LOADERS:
        _LOADERS[name] = plugins.create("loaders", name)
    return _LOADERS[name]


def _working_loaders() -> list[VolumeLoader]:
    found = []
    for info in plugins.working("loaders"):
        try:
            found.append(loader_named(info.name))
        except PluginError:
            continue  # reported by `radcurate plugins`; one broken plugin never stops an import
    return found


def _key(path: str | Path) -> str:
    return os.path.realpath(path)


# --------------------------------------------------------------------------- hashing
def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def series_id_for(files: Iterable[str | Path]) -> str:
    """First 16 hex of the sha256 over the sorted per-file sha256s: same bytes, same id, any path."""
    digests = sorted(file_sha256(f) for f in files)
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:16]


def _where(source: VolumeSource) -> str:
    """The folder of a multi-file source, the file of a single-file one (for quarantine records)."""
    if len(source.files) == 1:
        return source.files[0]
    return os.path.commonpath(source.files) if source.files else source.study_key


# --------------------------------------------------------------------------- the import
class _Run:
    """One import run: the database, its summary, and the quarantine writer."""

    def __init__(self, db: sqlite_utils.Database, progress: Progress | None):
        self.db = db
        self.summary = ImportSummary()
        self.progress = progress or (lambda phase, done, total: None)

    def quarantine(self, path: str, field_: str | None, reason: str, stage: str = STAGE_IMPORT) -> None:
        self.summary.quarantined.append(quarantine.add(self.db, path, field_, reason, stage))

    def reject(self, rejection: Rejection, stage: str = STAGE_IMPORT) -> None:
        self.quarantine(rejection.path, rejection.field, rejection.reason, stage)

    # ---------------------------------------------------------------- discovery
    def discover(self, files: Sequence[Path], loaders: Sequence[VolumeLoader]) -> tuple[list[VolumeSource], list[Path]]:
        """Offer the files to each loader in turn; return the sources and the files nobody claimed."""
        sources: list[VolumeSource] = []
        remaining = list(files)
        for loader in loaders:
            if not remaining:
                break
            try:
                found: Discovery = loader.discover(remaining)
            except Exception as exc:  # a broken plugin is reported by name, never takes the import down
                where = os.path.commonpath([str(f) for f in remaining])
                self.quarantine(
                    where,
                    f"loader:{loader.name}",
                    f"loader plugin {loader.name!r} failed while reading headers "
                    f"({type(exc).__name__}: {exc}); its files were offered to the other loaders",
                )
                continue
            for rejection in found.rejected:
                self.reject(rejection)
            sources.extend(found.sources)
            claimed = {_key(p) for p in found.claimed}
            claimed.update(_key(f) for s in found.sources for f in s.files)
            claimed.update(_key(r.path) for r in found.rejected)
            remaining = [f for f in remaining if _key(f) not in claimed]
        return sources, remaining

    # ---------------------------------------------------------------- reports
    def import_reports(self, report_file: ReportFile) -> None:
        """Stream the file's reports into the store in batches (by count and by time).

        A batch is one transaction: a kill loses at most the open batch, and a rerun redoes it
        without duplicates (a report is matched by study id and its text's sha256).
        """
        batch: list[ReportEntry | Rejection] = []
        done, started = 0, time.monotonic()
        for item in report_file.read():
            batch.append(item)
            if len(batch) >= REPORT_BATCH_ROWS or time.monotonic() - started >= REPORT_BATCH_S:
                done += self._store_report_batch(batch)
                batch, started = [], time.monotonic()
                self.progress("reports", done, None)
        done += self._store_report_batch(batch)
        self.progress("reports", done, None)

    def _store_report_batch(self, batch: Sequence[ReportEntry | Rejection]) -> int:
        if not batch:
            return 0
        entries = [item for item in batch if isinstance(item, ReportEntry)]
        with write_transaction(self.db) as conn:
            for item in batch:
                if isinstance(item, Rejection):
                    self.reject(item, STAGE_REPORTS)
            outcomes = studies.store_reports(conn, [(e.study_id, e.text, e.path) for e in entries])
        for created, outcome in outcomes:
            self.summary.studies += int(created)
            if outcome == "unchanged":
                self.summary.unchanged += 1
            else:
                self.summary.reports += 1
        return len(entries)

    # ---------------------------------------------------------------- volumes
    def import_source(self, source: VolumeSource) -> None:
        """Hash, (maybe) decode and store one volume source; any input problem goes to quarantine."""
        try:
            series_id = series_id_for(source.files)
        except OSError as exc:
            self.quarantine(exc.filename or _where(source), "file", f"cannot read the file ({exc.strerror})")
            return
        if studies.series_exists(self.db, series_id):
            self._refresh_location(series_id, source)
            self.summary.unchanged += 1
            return
        try:
            volume = loader_named(source.loader).load(source)
        except InputError as exc:
            self.quarantine(exc.path or _where(source), exc.field, exc.reason)
            return
        except MemoryError:
            self.quarantine(_where(source), "PixelData", "the volume does not fit in memory")
            return
        except Exception as exc:  # a loader bug must cost one volume, not the batch
            self.quarantine(
                _where(source),
                f"loader:{source.loader}",
                f"loader {source.loader!r} failed: {type(exc).__name__}: {exc}",
            )
            return
        if volume.modality.upper() != "CT":
            self.quarantine(_where(source), "Modality", f"modality is {volume.modality!r}, not CT")
            return
        self._store(series_id, source, volume)

    def _store(self, series_id: str, source: VolumeSource, volume: Volume) -> None:
        lo, hi = volume.hu_range
        record = studies.SeriesRecord(
            id=series_id,
            study_id=source.study_key.strip(),
            loader=source.loader,
            series_key=source.series_key,
            files=tuple(str(Path(f).absolute()) for f in source.files),
            shape=volume.shape,
            spacing=tuple(float(s) for s in volume.spacing),  # type: ignore[arg-type]
            affine=np.asarray(volume.affine, dtype=float).tolist(),
            orientation=volume.orientation,
            modality=volume.modality,
            hu_min=lo,
            hu_max=hi,
            checksum=volume.checksum,
            metadata={**volume.metadata, "description": source.description},
        )
        try:
            with write_transaction(self.db):
                created = studies.ensure_study(self.db, record.study_id)
                if studies.series_with_checksum(self.db, record.study_id, record.checksum):
                    self.summary.unchanged += 1  # same voxels stored from other files (e.g. recompressed)
                    return
                studies.insert_series(self.db, record)
        except InputError as exc:
            self.quarantine(_where(source), exc.field or "study", exc.reason)
            return
        self.summary.studies += int(created)
        self.summary.series += 1
        for path in volume.metadata.get("dropped_files", []):
            # The series imported without this file; the file itself is set aside, with the reason.
            self.quarantine(
                path,
                "ImagePositionPatient",
                "duplicate slice (identical pixels at the same position as another file of the "
                "series); not used, the series was imported without it",
            )

    def _refresh_location(self, series_id: str, source: VolumeSource) -> None:
        """Same bytes found elsewhere and the stored files are gone: the folder was moved, follow it."""
        stored = studies.get_series(self.db, series_id)
        if all(Path(f).exists() for f in stored.files):
            return
        files = [str(Path(f).absolute()) for f in source.files]
        with write_transaction(self.db):
            studies.update_series_files(self.db, series_id, files)


def import_paths(
    db: sqlite_utils.Database,
    paths: Sequence[str | Path],
    *,
    reports: Sequence[str | Path] = (),
    id_column: str | None = None,
    text_column: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import volumes found under ``paths`` and the reports in ``reports`` (and any report table found).

    Parameters
    ----------
    db
        The project store.
    paths
        Files or folders holding volumes (walked recursively) and, optionally, report tables.
    reports
        Report files (CSV/TSV/JSONL) or folders of ``.txt`` reports; opened before anything else.
    id_column, text_column
        Report column names; None auto-detects (see :mod:`radcurate.engine.ingest.reports`).
    progress
        Called as ``progress(phase, done, total)``.

    Raises
    ------
    InputError
        A path does not exist, or a ``--reports`` file has no usable id/text column or is not UTF-8.
        Nothing is written in that case. Problems with single items go to quarantine instead.
    """
    if not paths and not reports:
        raise InputError("nothing to import: give folders/files with volumes, or --reports FILE", field="PATH")
    report_files = [ReportFile(p, id_column=id_column, text_column=text_column) for p in reports]
    files = walk(paths)
    run = _Run(db, progress)
    run.progress("discovering", 0, len(files))
    loaders = _working_loaders() if files else []
    sources, unclaimed = run.discover(files, loaders)
    found_reports, ignored, unknown = sort_unclaimed(unclaimed, id_column=id_column, text_column=text_column)
    run.summary.ignored = ignored
    names = ", ".join(loader.name for loader in loaders) or "none installed"
    for path in unknown:
        run.quarantine(
            str(path), "file", f"not a recognised volume format (no loader plugin claims it; loaders: {names})"
        )
    given = {_key(r.path) for r in report_files}
    report_files += [
        ReportFile(p, id_column=id_column, text_column=text_column) for p in found_reports if _key(p) not in given
    ]
    for report_file in report_files:
        run.import_reports(report_file)
    run.progress("volumes", 0, len(sources))
    for done, source in enumerate(sources, start=1):
        run.import_source(source)
        run.progress("volumes", done, len(sources))
    return run.summary


def import_reports(
    db: sqlite_utils.Database, path: str | Path, *, id_column: str | None = None, text_column: str | None = None
) -> ImportSummary:
    """Import one report file or ``.txt`` folder (no volumes)."""
    return import_paths(db, [], reports=[path], id_column=id_column, text_column=text_column)


def load_volume(db: sqlite_utils.Database, series_id: str) -> Volume:
    """Decode a stored series again from its files, through the loader that imported it.

    Raises :class:`InputError` naming the file when a file is gone, or when the decoded voxels no
    longer match the checksum stored at import (the files were changed or replaced).
    """
    record = studies.get_series(db, series_id)
    missing = [f for f in record.files if not Path(f).exists()]
    if missing:
        raise InputError(
            f"{len(missing)} of the {len(record.files)} files of series {series_id} are missing "
            "(moved or deleted since import); import them again from their new place",
            path=missing[0],
            field="files",
        )
    source = VolumeSource(record.loader, record.files, record.study_id, record.series_key)
    volume = loader_named(record.loader).load(source)
    if volume.checksum != record.checksum:
        where = os.path.commonpath(record.files) if len(record.files) > 1 else record.files[0]
        raise InputError(
            f"the files of series {series_id} changed since import (voxel checksum differs); import them again",
            path=where,
            field="checksum",
        )
    return volume
