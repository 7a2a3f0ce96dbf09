"""The PACS client contract: what a plugin of the ``radcurate.pacs`` group must do, and the values it returns.

A PACS client talks one protocol (DICOMweb, DIMSE, a vendor's API) and does exactly two things:
find series (``find_series``: QIDO-RS or C-FIND) and fetch one series' instances as DICOM Part-10
files into a folder (``fetch_series``: WADO-RS, C-GET or C-MOVE). Everything else — retries with
backoff, the per-series fetch record that lets an interrupted import resume, quarantine, the
DICOM loader, reports and provenance — is the engine's (``radcurate.engine.ingest.pacs``), so a
new protocol is a small plugin and behaves like the built-in ones.

Errors: a client raises :class:`PacsUnavailable` for what may pass (connection refused or dropped,
timeout, HTTP 5xx/429, a series that arrived incomplete) — the engine retries those — and
:class:`~radcurate.engine.errors.InputError` for what will not (wrong credentials, unknown query
key, a study the PACS does not hold), naming the URL and the UID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from radcurate.engine.errors import RadcurateError

REPORT_MODALITIES = ("SR", "DOC")  # structured reports, encapsulated documents (PDF / text / CDA)


class PacsUnavailable(RadcurateError):
    """The PACS did not answer, or answered with a transient failure (retry later)."""


@dataclass(frozen=True)
class PacsAddress:
    """Where a PACS is, parsed from a URL the user gave; never holds a secret.

    ``url`` is what logs, quarantine records and the store show (``dicomweb+https://pacs/dicom-web``,
    ``dimse://PACS@10.0.0.5:104``). For DICOMweb ``base_url`` is the HTTP(S) root of the service;
    for DIMSE ``called_aet`` is the PACS' AE title and ``calling_aet`` ours (None: the settings').
    """

    protocol: str  # plugin name: "dicomweb" or "dimse"
    url: str
    host: str
    port: int
    base_url: str = ""
    called_aet: str = ""
    calling_aet: str | None = None


@dataclass(frozen=True)
class PacsCredentials:
    """HTTP credentials read from the environment or a netrc-style file at run time (never stored)."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = "none"  # where they came from, for messages: "environment", "netrc ~/.netrc", "none"


@dataclass(frozen=True)
class PacsQuery:
    """What to import: explicit StudyInstanceUIDs and/or QIDO-style attribute filters.

    ``filters`` are (DICOM keyword, value) pairs at study level, as in
    ``ModalitiesInStudy=CT&StudyDate=20240101-20240131``; a DIMSE client sends the same as C-FIND keys.
    """

    study_uids: tuple[str, ...] = ()
    filters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RemoteSeries:
    """One series the PACS holds (from QIDO-RS / C-FIND at series level)."""

    study_uid: str
    series_uid: str
    modality: str
    accession: str = ""
    description: str = ""
    instances: int | None = None  # NumberOfSeriesRelatedInstances, when the PACS says
    study_date: str = ""
    patient_id: str = ""

    @property
    def is_report(self) -> bool:
        return self.modality.upper() in REPORT_MODALITIES

    def as_json(self) -> dict[str, object]:
        return {
            "study_uid": self.study_uid,
            "series_uid": self.series_uid,
            "modality": self.modality,
            "accession": self.accession,
            "description": self.description,
            "instances": self.instances,
            "study_date": self.study_date,
        }


InstanceReceived = Callable[[int], None]
"""``on_instance(received_so_far)``: called by ``fetch_series`` after each instance is written."""


@runtime_checkable
class PacsClient(Protocol):
    """Finds and fetches series from one PACS; built as ``Factory(address=, credentials=, **options)``.

    Options the engine passes (from ``[pacs]`` settings): ``timeout_s`` (seconds per network
    operation), ``calling_aet`` (our AE title), ``retrieve`` ("get" or "move"), ``move_port``
    (the port of our storage SCP for C-MOVE; 0 picks a free one), ``verify_tls`` and ``ca_bundle``.
    A client must accept and ignore options it has no use for.
    """

    name: str
    version: str

    def find_series(self, query: PacsQuery) -> list[RemoteSeries]: ...

    def fetch_series(self, series: RemoteSeries, folder: Path, on_instance: InstanceReceived) -> int:
        """Write the series' instances into ``folder`` as ``<SOPInstanceUID>.dcm``; return how many."""
        ...

    def close(self) -> None: ...
