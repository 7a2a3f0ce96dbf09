"""DIMSE client for a PACS without DICOMweb: C-FIND to find series, C-GET or C-MOVE to fetch them (pynetdicom).

``dimse://PACS@host:104``: the PACS' AE title, host and port; ours is ``[pacs] calling_aet``
(or ``?calling=AET`` on the URL). The PACS must know our AE title at our host — that registration
is the DIMSE equivalent of a password, and hospital IT makes it.

* **C-GET** (``[pacs] retrieve = "get"``, the default): the PACS sends the instances back over our
  own association; no inbound port to open in a firewall. We propose one presentation context per
  storage class and transfer syntax, so the PACS can send a JPEG 2000 series as stored (a PACS
  without a JPEG 2000 codec could not transcode it, and a lossless series stays bit-exact).
* **C-MOVE** (``retrieve = "move"``): what every PACS supports; the PACS opens an association to
  our storage SCP (``calling_aet`` at ``move_port``, as registered on the PACS), which accepts only
  that PACS' AE title and only instances of the series being fetched.

Each instance is written as received (``encoded_dataset``: the bytes the PACS sent, with a file
meta header, not re-encoded). Errors for the engine's retries: no association, an aborted one, a
timeout, failed sub-operations (a half-received series) → :class:`PacsUnavailable`; a rejected
association (unknown AE title) or a refused query → :class:`InputError` naming the URL.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any

from radcurate.engine.contracts.pacs import (
    InstanceReceived,
    PacsAddress,
    PacsQuery,
    PacsUnavailable,
    RemoteSeries,
)
from radcurate.engine.errors import InputError

# pynetdicom logs every refused connection at ERROR; the engine reports it in one line instead.
logging.getLogger("pynetdicom").addHandler(logging.NullHandler())
logging.getLogger("pynetdicom").propagate = False

PENDING = (0xFF00, 0xFF01)
SUCCESS, WARNING = 0x0000, 0xB000
STORAGE_CLASSES = (
    "CTImageStorage",
    "EnhancedCTImageStorage",
    "BasicTextSRStorage",
    "EnhancedSRStorage",
    "ComprehensiveSRStorage",
    "Comprehensive3DSRStorage",
    "EncapsulatedPDFStorage",
    "EncapsulatedCDAStorage",
)
TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.5",  # RLE lossless
    "1.2.840.10008.1.2.4.70",  # JPEG lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
)


class DimseClient:
    """A PACS reached over DIMSE (``dimse://AET@host:port``)."""

    name = "dimse"
    version = "1"

    def __init__(
        self,
        *,
        address: PacsAddress,
        timeout_s: float = 30.0,
        calling_aet: str = "RADCURATE",
        retrieve: str = "get",
        move_port: int = 11112,
        **_ignored: Any,
    ):
        if retrieve not in ("get", "move"):
            raise InputError("expected 'get' or 'move'", field="pacs.retrieve")
        self.address, self.timeout_s, self.calling_aet = address, timeout_s, calling_aet
        self.retrieve, self.move_port = retrieve, move_port
        self._server: Any = None
        self._lock = threading.Lock()
        self._target: tuple[str, Path, InstanceReceived] | None = None
        self._received = 0
        self._assoc: Any = None

    # ------------------------------------------------------------------ associations
    def _ae(self) -> Any:
        from pynetdicom import AE

        ae = AE(ae_title=self.calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout_s
        ae.connection_timeout = self.timeout_s
        return ae

    def _associate(self, ae: Any, what: str, **kwargs: Any) -> Any:
        assoc = ae.associate(self.address.host, self.address.port, ae_title=self.address.called_aet, **kwargs)
        if assoc.is_established:
            return assoc
        if assoc.is_rejected:
            raise InputError(
                f"the PACS rejected our association for {what}: is AE title {self.calling_aet!r} registered "
                f"on it for this host, and is {self.address.called_aet!r} its AE title?",
                field=self.address.url,
            )
        raise PacsUnavailable(
            f"no DICOM association with {self.address.url} for {what} (refused, aborted or timed out)"
        )

    def _association(self, what: str) -> Any:
        """One association for the whole import (C-FIND, then C-GET/C-MOVE per series), opened again
        after a failure: negotiating 60-odd presentation contexts per series costs more than a small series."""
        from pynetdicom import build_role, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FindModel
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GetModel
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MoveModel

        if self._assoc is not None and self._assoc.is_established:
            return self._assoc
        ae = self._ae()
        ae.add_requested_context(FindModel)
        options: dict[str, Any] = {}
        if self.retrieve == "get":
            ae.add_requested_context(GetModel)
            for name in STORAGE_CLASSES:  # one context per transfer syntax: the PACS sends as stored
                for syntax in TRANSFER_SYNTAXES:
                    ae.add_requested_context(_sop(name), syntax)
            options["ext_neg"] = [build_role(_sop(name), scp_role=True) for name in STORAGE_CLASSES]
            options["evt_handlers"] = [(evt.EVT_C_STORE, self._store)]
        else:
            ae.add_requested_context(MoveModel)
        self._assoc = self._associate(ae, what, **options)
        _no_delay(self._assoc)
        return self._assoc

    def _drop(self) -> None:
        """Abort the association after a failure (the next operation opens a fresh one)."""
        if self._assoc is not None:
            try:
                self._assoc.abort()
            except Exception:  # already gone
                pass
            self._assoc = None

    def _responses(self, send: Any, what: str) -> list[tuple[Any, Any]]:
        """All (status, identifier) answers of one DIMSE request; a lost association → PacsUnavailable."""
        try:
            answers = []
            for status, identifier in send():
                if getattr(status, "Status", None) is None:
                    raise PacsUnavailable(f"{self.address.url} stopped answering during {what}")
                answers.append((status, identifier))
            return answers
        except PacsUnavailable:
            self._drop()
            raise
        except (RuntimeError, OSError) as exc:  # pynetdicom: "association is not established", a reset socket
            self._drop()
            raise PacsUnavailable(f"the association with {self.address.url} broke during {what} ({exc})") from None

    def _find(self, identifier: Any, what: str) -> list[Any]:
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FindModel

        assoc = self._association(what)
        found = []
        for status, answer in self._responses(lambda: assoc.send_c_find(identifier, FindModel), what):
            code = status.Status
            if code in PENDING and answer is not None:
                found.append(answer)
            elif code != SUCCESS:
                raise InputError(f"the PACS refused {what} (C-FIND status 0x{code:04X})", field=self.address.url)
        return found

    # ------------------------------------------------------------------ C-FIND
    def find_series(self, query: PacsQuery) -> list[RemoteSeries]:
        from pydicom.dataset import Dataset

        study_uids = list(query.study_uids)
        announced: dict[str, int] = {}  # series per study, as the study-level answer says
        if query.filters:
            ask = Dataset()
            ask.QueryRetrieveLevel = "STUDY"
            ask.StudyInstanceUID = ""
            ask.NumberOfStudyRelatedSeries = None
            for key, value in query.filters:
                setattr(ask, key, value)
            for answer in self._find(ask, "the study query (C-FIND)"):
                uid = str(answer.get("StudyInstanceUID", ""))
                if uid and uid not in study_uids:
                    study_uids.append(uid)
                count = answer.get("NumberOfStudyRelatedSeries")
                if uid and count not in (None, ""):
                    announced[uid] = int(count)
        series = []
        for study_uid in study_uids:
            ask = Dataset()
            ask.QueryRetrieveLevel = "SERIES"
            ask.StudyInstanceUID = study_uid
            for key in ("SeriesInstanceUID", "Modality", "SeriesDescription", "SeriesNumber"):
                setattr(ask, key, "")
            ask.NumberOfSeriesRelatedInstances = None
            ask.AccessionNumber = ask.StudyDate = ask.PatientID = ""
            what = f"the series query of study {study_uid} (C-FIND)"
            answers = self._find(ask, what)
            if len(answers) < announced.get(study_uid, 0):  # an answer lost on the way: ask again
                self._drop()
                raise PacsUnavailable(f"{what} gave {len(answers)} of the {announced[study_uid]} series announced")
            for answer in answers:
                count = answer.get("NumberOfSeriesRelatedInstances")
                series.append(
                    RemoteSeries(
                        study_uid=study_uid,
                        series_uid=str(answer.get("SeriesInstanceUID", "")),
                        modality=str(answer.get("Modality", "")),
                        accession=str(answer.get("AccessionNumber", "") or ""),
                        description=str(answer.get("SeriesDescription", "") or ""),
                        instances=int(count) if count not in (None, "") else None,
                        study_date=str(answer.get("StudyDate", "") or ""),
                        patient_id=str(answer.get("PatientID", "") or ""),
                    )
                )
        return series

    # ------------------------------------------------------------------ C-STORE (ours)
    def _store(self, event: Any) -> int:
        """Write one instance the PACS sent; refuse any that is not of the series being fetched."""
        with self._lock:
            target = self._target
        if target is None:
            return 0xA700  # out of resources: nothing is being fetched
        series_uid, folder, on_instance = target
        ds = event.dataset
        if str(ds.get("SeriesInstanceUID", "")) != series_uid:
            return 0xA900  # dataset does not match SOP class / not asked for
        uid = str(ds.get("SOPInstanceUID", "")) or f"instance-{self._received + 1}"
        (folder / f"{uid}.dcm").write_bytes(event.encoded_dataset(include_meta=True))
        with self._lock:
            self._received += 1
            count = self._received
        on_instance(count)
        return 0x0000

    def _storage_server(self) -> None:
        from pynetdicom import evt

        if self._server is not None:
            return
        ae = self._ae()
        for name in STORAGE_CLASSES:
            ae.add_supported_context(_sop(name), list(TRANSFER_SYNTAXES))
        ae.require_calling_aet = [self.address.called_aet]
        try:
            self._server = ae.start_server(
                ("0.0.0.0", self.move_port), block=False, evt_handlers=[(evt.EVT_C_STORE, self._store)]
            )
        except OSError as exc:
            raise InputError(
                f"cannot open our C-MOVE storage port {self.move_port} ({exc.strerror}); set [pacs] move_port to the "
                "port registered for our AE title on the PACS, or use retrieve = 'get'",
                field="pacs.move_port",
            ) from None

    # ------------------------------------------------------------------ C-GET / C-MOVE
    def fetch_series(self, series: RemoteSeries, folder: Path, on_instance: InstanceReceived) -> int:
        from pydicom.dataset import Dataset
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GetModel
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MoveModel

        with self._lock:
            self._target, self._received = (series.series_uid, folder, on_instance), 0
        what = f"the retrieval of series {series.series_uid} (C-{self.retrieve.upper()})"
        ask = Dataset()
        ask.QueryRetrieveLevel = "SERIES"
        ask.StudyInstanceUID = series.study_uid
        ask.SeriesInstanceUID = series.series_uid
        try:
            if self.retrieve == "move":
                self._storage_server()
            assoc = self._association(what)
            if self.retrieve == "get":
                answers = self._responses(lambda: assoc.send_c_get(ask, GetModel), what)
            else:
                answers = self._responses(lambda: assoc.send_c_move(ask, self.calling_aet, MoveModel), what)
            final = answers[-1][0] if answers else None
            code = getattr(final, "Status", None)
            failed = int(getattr(final, "NumberOfFailedSuboperations", 0) or 0)
            if code is None or failed or code not in (SUCCESS, WARNING):
                shown = "no status" if code is None else f"status 0x{code:04X}"
                raise PacsUnavailable(
                    f"{what} ended with {shown}, {failed} instances failed, {self._received} received"
                )
            return self._received
        finally:
            with self._lock:
                self._target = None

    def close(self) -> None:
        if self._assoc is not None and self._assoc.is_established:
            try:
                self._assoc.release()
            except Exception:  # the PACS went away first
                pass
        self._assoc = None
        if self._server is not None:
            self._server.shutdown()
            self._server = None


def _no_delay(assoc: Any) -> None:
    """Turn Nagle's algorithm off on the association's socket.

    Each instance the PACS sends waits for our small C-STORE response; with Nagle on, that
    response waits for a delayed ACK (40 ms on Linux) — about 50 ms per instance, seconds per series.
    """
    sock = getattr(getattr(getattr(assoc, "dul", None), "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _sop(name: str) -> Any:
    from pynetdicom import sop_class

    return getattr(sop_class, name)
