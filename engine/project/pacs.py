"""The façade's PACS half: fill the project (and so the worklist) from a PACS query (engine/ingest/pacs/).

A mixin, like running.py, so :class:`~radcurate.engine.project.core.Project` stays one class for
the CLI and the desktop while each file stays small; it relies on ``self.db``, ``self.path`` and
``self.settings`` from the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from radcurate.engine.store import pacs_fetches

if TYPE_CHECKING:
    from radcurate.engine.contracts.pacs import RemoteSeries
    from radcurate.engine.ingest.pacs import remote_import
    from radcurate.engine.jobs.records import Job
    from radcurate.engine.settings import Settings


class PacsMixin:
    """Import from a PACS (DICOMweb ``dicomweb+https://…`` or DIMSE ``dimse://AET@host:port``)."""

    path: Path
    settings: Settings

    @property
    def db(self) -> sqlite_utils.Database:  # provided by Project
        raise NotImplementedError

    def import_from_pacs(
        self,
        url: str,
        *,
        studies: Sequence[str] = (),
        query: str | None = None,
        reports: Sequence[str | Path] = (),
        id_column: str | None = None,
        text_column: str | None = None,
        progress: remote_import.FetchProgress | None = None,
    ) -> remote_import.PacsImportSummary:
        """Fetch the studies ``studies`` and/or those matching ``query`` into ``cache/pacs/`` and import them
        like a folder (same loader, quarantine, provenance); a rerun fetches only what is not complete."""
        from radcurate.engine.ingest.pacs import remote_import  # pydicom etc.: only when a PACS is used

        return remote_import.import_from_pacs(
            self.db,
            self.path,
            url,
            settings=self.settings.pacs,
            study_uids=studies,
            query=query,
            reports=reports,
            id_column=id_column,
            text_column=text_column,
            progress=progress,
        )

    def query_pacs(self, url: str, *, studies: Sequence[str] = (), query: str | None = None) -> list[RemoteSeries]:
        """The series a PACS holds for ``studies``/``query`` (nothing fetched): what an import would bring."""
        from radcurate.engine.ingest.pacs import remote_import

        return remote_import.query_series(url, self.settings.pacs, study_uids=studies, query=query)

    def start_pacs_import(self, url: str, *, studies: Sequence[str] = (), query: str | None = None) -> Job:
        """The same import as a background job (``radcurate pacs-import``): returns at once with the queued
        job; progress, cancel and resume as for any job (the desktop's File ▸ Import from PACS…)."""
        params = {"url": url, "studies": " ".join(studies) or None, "query": query}
        return self.start_job("pacs-import", params)

    def start_job(self, command: str, params: Any = None) -> Job:  # provided by RunningMixin
        raise NotImplementedError

    def pacs_fetch_counts(self) -> dict[str, int]:
        """PACS series by fetch state: ``complete``, ``fetching`` (interrupted: a rerun resumes), ``failed``."""
        return pacs_fetches.counts(self.db)
