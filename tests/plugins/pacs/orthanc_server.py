"""A real Orthanc PACS on loopback for the PACS tests and ``benchmarks/pacs.py`` (never a mock).

Orthanc comes from the Debian packages ``orthanc`` and ``orthanc-dicomweb``
(``scripts/system-deps.sh`` installs them). :class:`OrthancServer` writes a JSON configuration
into a temporary folder (storage there too), picks free loopback ports, starts ``Orthanc``, waits
until its REST API answers, and stops it again; :meth:`OrthancServer.stop` then
:meth:`OrthancServer.start` keeps the storage and ports, so a test can take the PACS away in the
middle of an import and bring it back.

Security as a hospital would set it: HTTP needs a user (``RegisteredUsers``) and is refused from
other hosts (``RemoteAccessAllowed`` false); DICOM queries and retrieves are allowed only for the
registered modality ``RADCURATE`` at 127.0.0.1 (``DicomCheckModalityHost``), which is also the
C-MOVE destination (a storage SCP the client opens on ``move_port``).

``TCP_NODELAY=1`` in Orthanc's environment turns Nagle's algorithm off in DCMTK, its DICOM
stack: with it on, every instance of a C-GET/C-MOVE waits for a delayed ACK (about 50 ms each).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

ORTHANC_CANDIDATES = ("/usr/sbin/Orthanc", "/usr/bin/Orthanc")
DICOMWEB_PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",  # Debian's orthanc-dicomweb
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)
USER, PASSWORD = "radcurate", "test-only-5b1e"  # a throwaway user of a loopback test server
ORTHANC_AET = "ORTHANC"
CLIENT_AET = "RADCURATE"


def orthanc_binary() -> str | None:
    """The Orthanc executable, or None when the Debian package is not installed."""
    found = shutil.which("Orthanc")
    if found:
        return found
    return next((c for c in ORTHANC_CANDIDATES if os.access(c, os.X_OK)), None)


def dicomweb_plugin() -> str | None:
    return next((c for c in DICOMWEB_PLUGIN_CANDIDATES if os.path.exists(c)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OrthancServer:
    """One Orthanc process with its own storage folder, HTTP port, DICOM port and C-MOVE peer port."""

    def __init__(self, folder: Path):
        binary, plugin = orthanc_binary(), dicomweb_plugin()
        if binary is None or plugin is None:
            raise RuntimeError("Orthanc or its DICOMweb plugin is not installed (scripts/system-deps.sh)")
        self.binary, self.plugin = binary, plugin
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.http_port, self.dicom_port, self.move_port = free_port(), free_port(), free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.config = self.folder / "orthanc.json"
        self.config.write_text(json.dumps(self._configuration(), indent=2), encoding="utf-8")

    # ------------------------------------------------------------------ addresses
    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """What a user gives ``radcurate import`` (credentials come from the environment)."""
        return f"dicomweb+http://127.0.0.1:{self.http_port}/dicom-web"

    @property
    def dimse_url(self) -> str:
        return f"dimse://{ORTHANC_AET}@127.0.0.1:{self.dicom_port}"

    def _configuration(self) -> dict[str, object]:
        storage = str(self.folder / "storage")
        return {
            "Name": "radcurate-test-pacs",
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "StorageCompression": False,
            "HttpPort": self.http_port,
            "HttpServerEnabled": True,
            "HttpThreadsCount": 8,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {USER: PASSWORD},
            "DicomServerEnabled": True,
            "DicomAet": ORTHANC_AET,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": False,
            "DicomCheckModalityHost": True,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False,
            "DicomAlwaysAllowGet": False,
            "DicomAlwaysAllowMove": False,
            "DicomModalities": {"radcurate": {"AET": CLIENT_AET, "Host": "127.0.0.1", "Port": self.move_port}},
            "DicomScuTimeout": 10,
            "DicomScpTimeout": 30,
            "Plugins": [self.plugin],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False, "Ssl": False},
            "SaveJobs": False,
            "ConcurrentJobs": 2,
            "StableAge": 1,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
        }

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout_s: float = 30.0) -> None:
        """Start Orthanc and return once ``/system`` answers (same ports and storage as before)."""
        if self.process is not None and self.process.poll() is None:
            return
        log = open(self.folder / "orthanc.log", "ab")  # noqa: SIM115 - the process owns it while it runs
        self.process = subprocess.Popen(
            [self.binary, str(self.config)],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TCP_NODELAY": "1"},
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.folder / "orthanc.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}:\n{tail}")
            try:
                self.rest("GET", "/system")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer on {self.rest_url} within {timeout_s} s")

    def stop(self) -> None:
        """Stop Orthanc (SIGTERM, then SIGKILL after 10 s); storage stays for the next start."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Take the PACS away at once (SIGKILL): connections in flight drop mid-transfer."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> OrthancServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ REST
    def rest(self, method: str, path: str, body: bytes | None = None) -> object:
        request = urllib.request.Request(self.rest_url + path, data=body, method=method)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        if body is not None:
            request.add_header("Content-Type", "application/dicom")
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read()
        return json.loads(data) if data else None

    def upload(self, files: Iterable[Path]) -> int:
        """POST each file to ``/instances`` (the REST upload); returns how many Orthanc stored."""
        stored = 0
        for path in files:
            try:
                answer = self.rest("POST", "/instances", Path(path).read_bytes())
            except urllib.error.HTTPError as exc:
                raise RuntimeError(f"Orthanc refused {path}: {exc.read().decode(errors='replace')}") from None
            if isinstance(answer, dict) and answer.get("Status") in ("Success", "AlreadyStored"):
                stored += 1
        return stored

    def study_count(self) -> int:
        answer = self.rest("GET", "/studies")
        return len(answer) if isinstance(answer, list) else 0
