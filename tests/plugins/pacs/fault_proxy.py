"""A loopback TCP proxy in front of the real Orthanc that injects the faults a hospital network has.

Not a mock: every byte that gets through comes from Orthanc. ``faults`` is a list consumed one
per request whose request line contains ``match``: ``"503"`` answers HTTP 503 without
asking Orthanc, ``"drop:N"`` forwards the request and cuts the connection after N bytes of the
answer (a dropped link in the middle of a series); connections after the list is used up pass
through untouched.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Handler(socketserver.BaseRequestHandler):
    """Forwards one client connection; each request on it (keep-alive) may draw a fault."""

    server: _ProxyServer

    def handle(self) -> None:
        client = self.request
        client.settimeout(0.02)
        with socket.create_connection(("127.0.0.1", self.server.target_port)) as upstream:
            upstream.settimeout(0.02)
            limit: int | None = None
            sent = 0
            while True:
                try:
                    more = client.recv(65536)
                    if not more:
                        return
                    if more[:4] in (b"GET ", b"POST", b"PUT ", b"DELE"):  # a new request on this connection
                        fault = self.server.next_fault(more)
                        if fault == "503":
                            body = b"PACS busy"
                            client.sendall(
                                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: %d\r\n"
                                b"Connection: close\r\n\r\n%s" % (len(body), body)
                            )
                            return
                        limit = int(fault.split(":", 1)[1]) if fault.startswith("drop:") else None
                        sent = 0
                    upstream.sendall(more)
                except TimeoutError:
                    pass
                try:
                    data = upstream.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    return
                if limit is not None and sent + len(data) >= limit:
                    client.sendall(data[: max(0, limit - sent)])
                    client.shutdown(socket.SHUT_RDWR)
                    return
                client.sendall(data)
                sent += len(data)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target_port: int, match: bytes, faults: list[str]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.target_port, self.match, self.faults = target_port, match, list(faults)
        self.injected: list[str] = []
        self._lock = threading.Lock()

    def next_fault(self, request: bytes) -> str:
        with self._lock:
            if self.match in request.split(b"\r\n", 1)[0] and self.faults:
                fault = self.faults.pop(0)
                self.injected.append(fault)
                return fault
        return ""


@contextmanager
def fault_proxy(target_port: int, match: str, faults: list[str]) -> Iterator[_ProxyServer]:
    """Run the proxy; ``server.server_address[1]`` is its port, ``server.injected`` what it did."""
    server = _ProxyServer(target_port, match.encode(), faults)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
