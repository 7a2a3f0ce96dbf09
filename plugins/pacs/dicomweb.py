"""DICOMweb client: QIDO-RS to find series, WADO-RS to fetch them, through ``dicomweb-client``.

WADO-RS asks for ``application/dicom`` with ``transfer-syntax=*``, so the PACS sends each instance
as it stores it (a JPEG 2000 series arrives as JPEG 2000, not transcoded) and the series is
streamed, one instance written at a time. Errors are sorted for the engine's retries: no answer,
a dropped or cut-off stream, a timeout, HTTP 408/429/5xx → :class:`PacsUnavailable`; 401/403
(credentials), 404 and 400 → :class:`InputError` naming the URL. dicomweb-client's own retries are
off: the engine retries whole series with backoff, the same for every protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from radcurate.engine.contracts.pacs import (
    InstanceReceived,
    PacsAddress,
    PacsCredentials,
    PacsQuery,
    PacsUnavailable,
    RemoteSeries,
)
from radcurate.engine.errors import InputError

TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
QIDO_PAGE = 500  # results asked per QIDO-RS request (a server may send fewer: paging goes on until none are new)
SERIES_FIELDS = ("Modality", "SeriesDescription", "SeriesNumber", "NumberOfSeriesRelatedInstances", "AccessionNumber")


def _value(attrs: dict[str, Any], tag: str) -> Any:
    values = attrs.get(tag, {}).get("Value") or []
    return values[0] if values else None


def _text(attrs: dict[str, Any], tag: str) -> str:
    value = _value(attrs, tag)
    if isinstance(value, dict):  # PN
        value = value.get("Alphabetic", "")
    return "" if value is None else str(value)


class DicomWebClient:
    """A PACS reached over DICOMweb (``dicomweb+https://host/dicom-web``)."""

    name = "dicomweb"
    version = "1"

    def __init__(
        self,
        *,
        address: PacsAddress,
        credentials: PacsCredentials,
        timeout_s: float = 30.0,
        verify_tls: bool = True,
        ca_bundle: str = "",
        **_ignored: Any,
    ):
        import requests
        from dicomweb_client.api import DICOMwebClient

        self.address = address
        session = requests.Session()
        if credentials.token:
            session.headers["Authorization"] = f"Bearer {credentials.token}"
        elif credentials.user is not None:
            session.auth = (credentials.user, credentials.password or "")
        session.verify = ca_bundle or verify_tls
        session.trust_env = credentials.source == "none"  # netrc from requests only when we found none ourselves
        self._session = session
        self._client = DICOMwebClient(address.base_url, session=session, timeout=timeout_s)
        self._client.set_http_retry_params(retry=False)

    # ------------------------------------------------------------------ errors
    @contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        import requests

        try:
            yield
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in TRANSIENT_STATUS:
                raise PacsUnavailable(f"{self.address.url} answered HTTP {status} to {what}") from None
            if status in (401, 403):
                raise InputError(
                    f"the PACS refused our credentials (HTTP {status}) for {what}; set RADCURATE_PACS_USER and "
                    "RADCURATE_PACS_PASSWORD (or RADCURATE_PACS_TOKEN), or add the host to your netrc file",
                    field=self.address.url,
                ) from None
            if status == 404:
                raise InputError(f"the PACS has no such resource ({what}, HTTP 404)", field=self.address.url) from None
            raise InputError(f"the PACS answered HTTP {status} to {what}", field=self.address.url) from None
        except requests.Timeout:
            raise PacsUnavailable(f"{self.address.url} timed out during {what}") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise PacsUnavailable(
                f"the connection to {self.address.url} failed during {what} ({_short(exc)})"
            ) from None
        except requests.RequestException as exc:
            raise PacsUnavailable(f"{self.address.url}: {what} failed ({_short(exc)})") from None

    # ------------------------------------------------------------------ QIDO-RS
    def find_series(self, query: PacsQuery) -> list[RemoteSeries]:
        study_uids = list(query.study_uids)
        if query.filters:
            with self._talking("the study query (QIDO-RS)"):
                found = _paged(
                    lambda limit, offset: self._client.search_for_studies(
                        search_filters=dict(query.filters), limit=limit, offset=offset
                    ),
                    "0020000D",
                )
            study_uids += [uid for uid in (_text(s, "0020000D") for s in found) if uid and uid not in study_uids]
        series: list[RemoteSeries] = []
        for study_uid in study_uids:
            with self._talking(f"the series query of study {study_uid} (QIDO-RS)"):
                rows = _paged(
                    lambda limit, offset, uid=study_uid: self._client.search_for_series(
                        uid, fields=SERIES_FIELDS, limit=limit, offset=offset
                    ),
                    "0020000E",
                )
            for row in rows:
                count = _value(row, "00201209")
                if count is None:  # the completeness check needs the count: ask for the instances instead
                    count = self._count_instances(study_uid, _text(row, "0020000E"))
                series.append(
                    RemoteSeries(
                        study_uid=study_uid,
                        series_uid=_text(row, "0020000E"),
                        modality=_text(row, "00080060"),
                        accession=_text(row, "00080050"),
                        description=_text(row, "0008103E"),
                        instances=int(count) if count is not None else None,
                        study_date=_text(row, "00080020"),
                        patient_id=_text(row, "00100020"),
                    )
                )
        return series

    def _count_instances(self, study_uid: str, series_uid: str) -> int | None:
        with self._talking(f"the instance query of series {series_uid} (QIDO-RS)"):
            found = _paged(
                lambda limit, offset: self._client.search_for_instances(
                    study_uid, series_uid, fields=("SOPInstanceUID",), limit=limit, offset=offset
                ),
                "00080018",
            )
        return len(found) if found else None

    # ------------------------------------------------------------------ WADO-RS
    def fetch_series(self, series: RemoteSeries, folder: Path, on_instance: InstanceReceived) -> int:
        received = 0
        what = f"the retrieval of series {series.series_uid} (WADO-RS)"
        with self._talking(what):
            instances = self._client.iter_series(
                series.study_uid, series.series_uid, media_types=(("application/dicom", "*"),)
            )
            try:
                for ds in instances:
                    uid = str(ds.get("SOPInstanceUID", "") or f"instance-{received + 1}")
                    ds.save_as(folder / f"{uid}.dcm", enforce_file_format=False)
                    received += 1
                    on_instance(received)
            except (ValueError, EOFError, OSError) as exc:  # a part cut off mid-stream
                if isinstance(exc, OSError) and not _is_network(exc):
                    raise
                raise PacsUnavailable(f"{what} broke off after {received} instances ({_short(exc)})") from None
        return received

    def close(self) -> None:
        self._session.close()


def _paged(search: Callable[[int, int], list[dict[str, Any]]], key: str) -> list[dict[str, Any]]:
    """All results of a QIDO-RS search, a page at a time (``limit``/``offset``).

    dicomweb-client's ``get_remaining`` asks until an empty page, which never comes from a server
    that ignores ``offset`` (Orthanc 1.10's plugin, for study queries with filters: it loops
    forever); here an empty page or a page with nothing new ends the search. A server may cap a
    page below ``limit``, so a short page does not end it.
    """
    results: list[dict[str, Any]] = []
    seen: set[str] = set()
    while True:
        page = search(QIDO_PAGE, len(results))
        fresh = [row for row in page if _text(row, key) not in seen]
        seen.update(_text(row, key) for row in fresh)
        results.extend(fresh)
        if not fresh:
            return results


def _is_network(exc: OSError) -> bool:
    import requests

    return isinstance(exc, requests.RequestException) or "connection" in str(exc).lower()


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."
