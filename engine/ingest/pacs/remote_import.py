"""Import from a PACS: find series, fetch each into the project's cache, then the ordinary import.

The flow of ``radcurate import DIR dicomweb+https://pacs/dicom-web --query ...`` (or ``dimse://``):

1. the URL picks a PACS client plugin (group ``radcurate.pacs``: ``dicomweb``, ``dimse``) and the
   query finds the studies' series (QIDO-RS / C-FIND); CT series are volumes, SR/DOC series are
   reports, anything else is listed as skipped;
2. each series is fetched (WADO-RS / C-GET / C-MOVE) into ``cache/pacs/.partial/<series UID>``,
   checked complete (as many instances as the PACS announced), and renamed into
   ``cache/pacs/<study UID>/<series UID>``; its record in ``pacs_fetches`` then says ``complete``
   (with the sha256 of its files). A dropped connection, a 5xx, a timeout or a half-received
   series is retried with doubling waits (``[pacs] retries``, ``backoff_s``), then quarantined
   naming the study and series UID; after ``give_up_after`` series in a row fail the PACS is taken
   as gone and the import stops (what was fetched is still imported; a rerun resumes);
3. the fetched folders go through :func:`radcurate.engine.ingest.imports.import_paths` — the same
   DICOM loader, checks, quarantine and provenance as a folder on disk — in chunks, so studies
   appear in the worklist while a long query is still fetching; reports found as DICOM SR or
   text documents import as the studies' reports, ``--reports`` CSVs as for folders.

A rerun of the same query fetches only what is not complete: a series whose record is complete,
whose folder holds its files and whose instance count the PACS still announces is not fetched
again, and the import of its files is the ordinary cheap no-op ("unchanged").
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import sqlite_utils

from radcurate.engine.contracts import plugins
from radcurate.engine.contracts.pacs import PacsAddress, PacsClient, PacsQuery, PacsUnavailable, RemoteSeries
from radcurate.engine.errors import InputError, PluginError
from radcurate.engine.ingest import imports
from radcurate.engine.ingest.imports import ImportSummary
from radcurate.engine.ingest.pacs import address as addresses
from radcurate.engine.ingest.pacs import dicom_reports
from radcurate.engine.ingest.pacs.events import FetchEvent, FetchProgress, PacsImportSummary
from radcurate.engine.ingest.reports import ReportFile
from radcurate.engine.settings import PacsSettings
from radcurate.engine.store import pacs_fetches, quarantine

CACHE_FOLDER = Path("cache") / "pacs"
IMPORT_CHUNK = 32  # series per ordinary import: studies show up while a long query still fetches
MAX_WAIT_S = 60.0


def parse_query(text: str | None) -> tuple[tuple[str, str], ...]:
    """``"ModalitiesInStudy=CT&StudyDate=20240101-20240131"`` → pairs; keys must be DICOM keywords."""
    from pydicom.datadict import tag_for_keyword

    if not text:
        return ()
    pairs = []
    for part in text.split("&"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"expected KEYWORD=VALUE, got {part!r}", field="--query")
        if tag_for_keyword(key) is None:
            raise InputError(f"{key!r} is not a DICOM keyword (e.g. StudyDate, ModalitiesInStudy)", field="--query")
        pairs.append((key, value.strip()))
    return tuple(pairs)


def open_client(address: PacsAddress, settings: PacsSettings) -> PacsClient:
    """The PACS client plugin for the URL's protocol, with credentials read now (never stored)."""
    creds = addresses.credentials(address, env_prefix=settings.credentials_env, netrc_file=settings.netrc)
    try:
        client: PacsClient = plugins.create(
            "pacs",
            address.protocol,
            address=address,
            credentials=creds,
            timeout_s=settings.timeout_s,
            calling_aet=address.calling_aet or settings.calling_aet,
            retrieve=settings.retrieve,
            move_port=settings.move_port,
            verify_tls=settings.verify_tls,
            ca_bundle=settings.ca_bundle,
        )
    except PluginError as exc:
        raise PluginError(f"{exc} (install radcurate[pacs] for DICOMweb and DIMSE)") from None
    return client


def find_series(
    client: PacsClient, address: PacsAddress, query: PacsQuery, settings: PacsSettings
) -> list[RemoteSeries]:
    """The query's series, retried like fetches when the PACS does not answer."""
    if not query.study_uids and not query.filters:
        raise InputError(
            "say which studies to import: --study UID or --query KEY=VALUE&... (a whole PACS is never "
            "imported by accident)",
            field="--query",
        )
    for attempt in range(settings.retries + 1):
        try:
            return client.find_series(query)
        except PacsUnavailable as exc:
            if attempt == settings.retries:
                raise PacsUnavailable(f"{address.url}: the query failed after {attempt + 1} attempts ({exc})") from None
            time.sleep(min(settings.backoff_s * 2**attempt, MAX_WAIT_S))
    raise AssertionError("unreachable")


def query_series(
    url: str, settings: PacsSettings, *, study_uids: Sequence[str] = (), query: str | None = None
) -> list[RemoteSeries]:
    """Only the query (QIDO-RS / C-FIND): the series an import of the same arguments would consider."""
    address = addresses.parse(url)
    wanted = PacsQuery(study_uids=tuple(s.strip() for s in study_uids if s.strip()), filters=parse_query(query))
    client = open_client(address, settings)
    try:
        return find_series(client, address, wanted, settings)
    finally:
        client.close()


def _file_count(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0


class _PacsRun:
    def __init__(
        self,
        db: sqlite_utils.Database,
        project_dir: Path,
        client: PacsClient,
        address: PacsAddress,
        settings: PacsSettings,
        progress: FetchProgress | None,
    ):
        self.db, self.root, self.client, self.address, self.settings = db, project_dir, client, address, settings
        self.progress = progress or (lambda event: None)
        self.summary = PacsImportSummary(source=address.url)
        self.cache = project_dir / CACHE_FOLDER

    def folder_of(self, series: RemoteSeries) -> Path:
        return self.cache / series.study_uid / series.series_uid

    def already_fetched(self, series: RemoteSeries) -> bool:
        record = pacs_fetches.get(self.db, series.series_uid)
        if record is None or record.state != "complete":
            return False
        if series.instances is not None and series.instances != record.received:
            return False  # the PACS holds more (or fewer) instances now: fetch the series again
        return _file_count(self.root / record.folder) == record.received

    def fetch(self, series: RemoteSeries, index: int, total: int) -> bool:
        """Fetch one series with retries; True when its folder is complete."""
        final = self.folder_of(series)
        partial = self.cache / ".partial" / series.series_uid
        last_error = ""
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            pacs_fetches.begin(
                self.db,
                series_uid=series.series_uid,
                study_uid=series.study_uid,
                source=self.address.url,
                modality=series.modality,
                folder=str(final.relative_to(self.root)),
                expected=series.instances,
            )
            self.progress(FetchEvent("start", series, index, total, 0, series.instances))
            received = 0

            def on_instance(count: int) -> None:
                nonlocal received
                received = count
                self.progress(FetchEvent("instance", series, index, total, count, series.instances))

            try:
                received = self.client.fetch_series(series, partial, on_instance)
                on_disk = _file_count(partial)
                if series.instances is not None and on_disk < series.instances:
                    raise PacsUnavailable(f"half-received series: {on_disk} of {series.instances} instances arrived")
                if on_disk == 0:
                    raise InputError("the PACS sent no instances for this series", field="SeriesInstanceUID")
            except PacsUnavailable as exc:
                last_error = str(exc)
                pacs_fetches.fail(self.db, series.series_uid, received=received, error=last_error)
                if attempt + 1 < attempts:
                    wait = min(self.settings.backoff_s * 2**attempt, MAX_WAIT_S)
                    self.progress(
                        FetchEvent(
                            "retry",
                            series,
                            index,
                            total,
                            received,
                            series.instances,
                            f"{last_error}; retry {attempt + 1} of {attempts - 1} in {wait:g} s",
                        )
                    )
                    time.sleep(wait)
                continue
            except InputError as exc:
                last_error = exc.reason
                pacs_fetches.fail(self.db, series.series_uid, received=received, error=last_error)
                break
            if final.exists():
                shutil.rmtree(final)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, final)
            digest = imports.series_id_for(sorted(final.iterdir()))
            pacs_fetches.complete(self.db, series.series_uid, received=on_disk, files_sha256=digest)
            self.summary.fetched += 1
            self.summary.instances += on_disk
            self.progress(FetchEvent("fetched", series, index, total, on_disk, series.instances))
            return True
        shutil.rmtree(partial, ignore_errors=True)
        where = f"{self.address.url}/studies/{series.study_uid}/series/{series.series_uid}"
        tries = f"after {attempt + 1} attempt{'s' if attempt else ''}"
        reason = f"fetch of series {series.series_uid} of study {series.study_uid} failed {tries}: {last_error}"
        quarantine.add(self.db, where, "SeriesInstanceUID", reason, imports.STAGE_IMPORT)
        self.summary.failed.append({"study_uid": series.study_uid, "series_uid": series.series_uid, "reason": reason})
        self.progress(FetchEvent("failed", series, index, total, 0, series.instances, reason))
        return False


def _merge(into: ImportSummary, other: ImportSummary) -> None:
    into.studies += other.studies
    into.series += other.series
    into.reports += other.reports
    into.unchanged += other.unchanged
    into.quarantined.extend(other.quarantined)
    into.ignored.extend(other.ignored)


def import_from_pacs(
    db: sqlite_utils.Database,
    project_dir: Path,
    url: str,
    *,
    settings: PacsSettings,
    study_uids: Sequence[str] = (),
    query: str | None = None,
    reports: Sequence[str | Path] = (),
    id_column: str | None = None,
    text_column: str | None = None,
    progress: FetchProgress | None = None,
) -> PacsImportSummary:
    """Find, fetch and import the studies ``study_uids`` and/or those matching ``query`` (see module doc).

    Raises
    ------
    InputError
        The URL, query or a ``--reports`` file is unusable, or the PACS refused the credentials;
        nothing is fetched then.
    PacsUnavailable
        The PACS did not answer the query (after the retries).
    """
    address = addresses.parse(url)
    wanted = PacsQuery(
        study_uids=tuple(dict.fromkeys(s.strip() for s in study_uids if s.strip())), filters=parse_query(query)
    )
    for report in reports:
        ReportFile(report, id_column=id_column, text_column=text_column)  # a wrong column fails before any fetch
    client = open_client(address, settings)
    try:
        return _import(
            db, Path(project_dir), client, address, wanted, settings, reports, id_column, text_column, progress
        )
    finally:
        client.close()


def _import(
    db: sqlite_utils.Database,
    root: Path,
    client: PacsClient,
    address: PacsAddress,
    query: PacsQuery,
    settings: PacsSettings,
    reports: Sequence[str | Path],
    id_column: str | None,
    text_column: str | None,
    progress: FetchProgress | None,
) -> PacsImportSummary:
    run = _PacsRun(db, root, client, address, settings, progress)
    found = find_series(client, address, query, settings)
    run.summary.found = len(found)
    run.summary.skipped = [s for s in found if s.modality.upper() != "CT" and not s.is_report]
    todo = [s for s in found if s.modality.upper() == "CT" or s.is_report]
    run.progress(FetchEvent("found", total=len(todo)))
    pending_volumes: list[Path] = []
    report_folders: list[Path] = []
    user_reports = list(reports)
    failures_in_a_row = 0

    def import_chunk() -> None:
        nonlocal user_reports
        if not pending_volumes and not user_reports:
            return
        run.progress(FetchEvent("importing", total=len(pending_volumes)))
        done = imports.import_paths(
            db, pending_volumes, reports=user_reports, id_column=id_column, text_column=text_column
        )
        _merge(run.summary.imported, done)
        pending_volumes.clear()
        user_reports = []

    for index, series in enumerate(todo, start=1):
        if run.already_fetched(series):
            run.summary.reused += 1
            run.progress(FetchEvent("reused", series, index, len(todo)))
            ok = True
        else:
            ok = run.fetch(series, index, len(todo))
        if ok:
            failures_in_a_row = 0
            (report_folders if series.is_report else pending_volumes).append(run.folder_of(series))
        else:
            failures_in_a_row += 1
            if failures_in_a_row >= settings.give_up_after:
                run.summary.stopped = (
                    f"{failures_in_a_row} series in a row could not be fetched from {address.url}; "
                    f"{len(todo) - index} not tried: run the same import again to resume"
                )
                break
        if len(pending_volumes) >= IMPORT_CHUNK:
            import_chunk()
    import_chunk()
    _import_dicom_reports(run, report_folders)
    return run.summary


def _import_dicom_reports(run: _PacsRun, folders: Sequence[Path]) -> None:
    """SR / text-document reports of the fetched studies → the studies' reports (one per study).

    Each study's chosen text is kept as ``cache/pacs/<study UID>/report.jsonl``: the report's
    recorded source, next to the DICOM objects it was read from.
    """
    found: dict[str, list[dicom_reports.DicomReport]] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            try:
                found.setdefault(folder.parent.name, []).append(dicom_reports.read_report(path))
            except InputError as exc:
                rec = quarantine.add(run.db, exc.path or str(path), exc.field, exc.reason, imports.STAGE_REPORTS)
                run.summary.imported.quarantined.append(rec)
    tables = []
    for study_uid, candidates in found.items():
        for report in dicom_reports.choose(candidates).values():
            tables.append(dicom_reports.write_jsonl([report], run.cache / study_uid / "report.jsonl"))
    if tables:
        _merge(run.summary.imported, imports.import_paths(run.db, [], reports=tables))
        run.summary.dicom_reports = len(tables)
