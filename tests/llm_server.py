"""A real OpenAI-compatible HTTP server on loopback, for testing the LLM path end to end.

It speaks enough of the protocol for the real ``openai`` client: ``POST /v1/chat/completions``
(structured output), ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}/content``,
``POST /v1/batches`` and ``GET /v1/batches/{id}``. It answers *correctly* by a keyword rule over
the report text (a finding named in the report is ``present``, ``no <finding>`` is ``absent``,
anything else ``not_mentioned``), with quotes cut from the report itself.

Misbehaviour is asked for in two ways:

* markers in a report's text pick what the answer to *that* report looks like — ``[bad-json]``,
  ``[refusal]``, ``[invented-quote]``, ``[unknown-finding]``, ``[missing-finding]``;
* :meth:`LLMServer.fail_next` queues transport failures for the next requests in arrival order —
  an HTTP status (429, 500, 503 ...) or ``"timeout"`` (the server sleeps past the client's
  timeout before answering).

Everything the tests assert on is counted here, at the server: requests per path, chat requests
per report (keyed by the report text's sha256), requests in flight now and at most.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKERS = ("[bad-json]", "[refusal]", "[invented-quote]", "[unknown-finding]", "[missing-finding]")


def report_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def correct_answer(report: str, findings: list[str]) -> dict[str, Any]:
    """The keyword rule's answer: quotes are exact slices of ``report``."""
    lower = report.lower()
    answer: dict[str, dict[str, str]] = {}
    for name in findings:
        negated = re.search(r"\bno " + re.escape(name.lower()), lower)
        named = lower.find(name.lower())
        if negated:
            answer[name] = {"state": "absent", "evidence": report[negated.start() : negated.end()]}
        elif named >= 0:
            answer[name] = {"state": "present", "evidence": report[named : named + len(name)]}
        else:
            answer[name] = {"state": "not_mentioned", "evidence": ""}
    return {"findings": answer}


def answer_content(report: str, findings: list[str]) -> tuple[str | None, str | None]:
    """(content, refusal) for one report, honouring the report's misbehaviour marker."""
    if "[refusal]" in report:
        return None, "I'm sorry, I can't help with that request."
    if "[bad-json]" in report:
        return '{"findings": {"' + findings[0] + '": {"state": "pres', None
    answer = correct_answer(report, findings)
    if "[invented-quote]" in report:
        answer["findings"][findings[0]] = {"state": "present", "evidence": "a quote the report never says"}
    if "[unknown-finding]" in report:
        answer["findings"]["Dragon scales"] = {"state": "present", "evidence": ""}
    if "[missing-finding]" in report:
        del answer["findings"][findings[-1]]
    return json.dumps(answer), None


class LLMServer:
    """State and counters of the fake endpoint; one instance per server."""

    def __init__(self, api_key: str, *, latency_s: float = 0.0, timeout_sleep_s: float = 2.0):
        self.api_key = api_key
        self.latency_s = latency_s
        self.timeout_sleep_s = timeout_sleep_s
        self.batch_polls_until_done = 2
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.per_report: Counter[str] = Counter()
        self.batch_per_report: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._failures: deque[int | str] = deque()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.bad_requests: list[str] = []
        self.received: list[bytes] = []  # every POST body as it arrived (what left the client)
        self.httpd: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ controls
    def fail_next(self, *failures: int | str) -> None:
        """Queue failures for the next requests: HTTP status codes or ``"timeout"``."""
        with self.lock:
            self._failures.extend(failures)

    @property
    def chat_requests(self) -> int:
        return self.requests["/v1/chat/completions"]

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    # ------------------------------------------------------------------ protocol
    def _next_failure(self) -> int | str | None:
        with self.lock:
            return self._failures.popleft() if self._failures else None

    def completion(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Validate one chat request as the real API would, and answer it."""
        problem = self._check_request(body)
        if problem:
            self.bad_requests.append(problem)
            return 400, {"error": {"message": problem, "type": "invalid_request_error"}}
        report = body["messages"][-1]["content"]
        findings = list(body["response_format"]["json_schema"]["schema"]["properties"]["findings"]["properties"])
        content, refusal = answer_content(report, findings)
        prompt_chars = sum(len(m["content"]) for m in body["messages"])
        return 200, {
            "id": f"chatcmpl-{report_key(report)[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4,
                "completion_tokens": len(content or refusal or "") // 4,
                "total_tokens": prompt_chars // 4 + len(content or refusal or "") // 4,
            },
        }

    @staticmethod
    def _check_request(body: dict[str, Any]) -> str | None:
        fmt = body.get("response_format") or {}
        if body.get("temperature") != 0:
            return "expected temperature 0"
        if fmt.get("type") != "json_schema" or not fmt.get("json_schema", {}).get("strict"):
            return "expected a strict json_schema response_format"
        messages = body.get("messages") or []
        if not messages or messages[-1].get("role") != "user":
            return "expected the report as the last user message"
        return None

    def run_batch(self, batch: dict[str, Any]) -> None:
        """Answer every request of a batch's input file; write the output file."""
        lines = self.files[batch["input_file_id"]].decode("utf-8").splitlines()
        out = []
        for i, line in enumerate(lines):
            request = json.loads(line)
            with self.lock:
                self.batch_per_report[report_key(request["body"]["messages"][-1]["content"])] += 1
            status, body = self.completion(request["body"])
            out.append(
                json.dumps(
                    {
                        "id": f"batch_req_{i}",
                        "custom_id": request["custom_id"],
                        "response": {"status_code": status, "request_id": f"req_{i}", "body": body},
                        "error": None,
                    }
                )
            )
        file_id = f"file-out-{batch['id']}"
        self.files[file_id] = ("\n".join(out) + "\n").encode("utf-8")
        batch.update(
            status="completed",
            output_file_id=file_id,
            completed_at=int(time.time()),
            request_counts={"total": len(lines), "completed": len(lines), "failed": 0},
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/json" if not isinstance(payload, bytes) else "application/octet-stream"
            )
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before we answered

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorised(self) -> bool:
        state = self.server.state
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self._send(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
            return False
        return True

    @contextmanager
    def _counted(self, path: str) -> Iterator[None]:
        state = self.server.state
        with state.lock:
            state.requests[path] += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            yield
        finally:
            with state.lock:
                state.in_flight -= 1

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server.state
        raw = self._body()
        with state.lock:
            state.received.append(raw)
        path = self.path.split("?")[0]
        with self._counted(path):
            if not self._authorised():
                return
            if path == "/v1/chat/completions":
                self._chat(raw)
            elif path == "/v1/files":
                self._upload(raw)
            elif path == "/v1/batches":
                body = json.loads(raw)
                batch_id = f"batch_{len(state.batches) + 1}"
                batch = {
                    "id": batch_id,
                    "object": "batch",
                    "endpoint": body["endpoint"],
                    "input_file_id": body["input_file_id"],
                    "completion_window": body["completion_window"],
                    "status": "validating",
                    "created_at": int(time.time()),
                    "polls": 0,
                    "request_counts": {"total": 0, "completed": 0, "failed": 0},
                }
                state.batches[batch_id] = batch
                self._send(200, _public(batch))
            else:
                self._send(404, {"error": {"message": f"no route {path}"}})

    def do_GET(self) -> None:  # noqa: N802
        state = self.server.state
        path = self.path.split("?")[0]
        with self._counted(path):
            if not self._authorised():
                return
            if path == "/v1/_stats":  # not OpenAI: the counters, for a server in another process
                with state.lock:
                    stats = {
                        "requests": dict(state.requests),
                        "max_in_flight": state.max_in_flight,
                        "chat_requests": state.chat_requests,
                        "statuses": dict(state.statuses),
                    }
                return self._send(200, stats)
            if m := re.fullmatch(r"/v1/batches/([\w-]+)", path):
                batch = state.batches.get(m.group(1))
                if batch is None:
                    return self._send(404, {"error": {"message": "no such batch"}})
                batch["polls"] += 1
                if batch["status"] == "validating":
                    batch["status"] = "in_progress"
                elif batch["status"] == "in_progress" and batch["polls"] >= state.batch_polls_until_done:
                    state.run_batch(batch)
                self._send(200, _public(batch))
            elif m := re.fullmatch(r"/v1/files/([\w-]+)/content", path):
                data = state.files.get(m.group(1))
                self._send(200, data) if data is not None else self._send(404, {"error": {"message": "no file"}})
            else:
                self._send(404, {"error": {"message": f"no route {path}"}})

    def _chat(self, raw: bytes) -> None:
        state = self.server.state
        body = json.loads(raw)
        report = (body.get("messages") or [{}])[-1].get("content") or ""
        with state.lock:
            state.per_report[report_key(report)] += 1
        failure = state._next_failure()
        if failure == "timeout":
            time.sleep(state.timeout_sleep_s)
        elif isinstance(failure, int):
            with state.lock:
                state.statuses[failure] += 1
            return self._send(failure, {"error": {"message": f"planned failure {failure}"}}, {"retry-after-ms": "20"})
        if state.latency_s:
            time.sleep(state.latency_s)
        status, answer = state.completion(body)
        with state.lock:
            state.statuses[status] += 1
        self._send(status, answer)

    def _upload(self, raw: bytes) -> None:
        state = self.server.state
        boundary = re.search(r"boundary=([^;]+)", self.headers.get("Content-Type", ""))
        if not boundary:
            return self._send(400, {"error": {"message": "expected multipart/form-data"}})
        parts = _multipart(raw, boundary.group(1).strip('"').encode())
        if parts.get("purpose", (b"", None))[0] != b"batch" or "file" not in parts:
            return self._send(400, {"error": {"message": "expected purpose=batch and a file"}})
        data, filename = parts["file"]
        file_id = f"file-{len(state.files) + 1}"
        state.files[file_id] = data
        self._send(
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": int(time.time()),
                "filename": filename or "upload.jsonl",
                "purpose": "batch",
                "status": "processed",
            },
        )


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k != "polls"}


def _multipart(raw: bytes, boundary: bytes) -> dict[str, tuple[bytes, str | None]]:
    """``{field name: (bytes, filename)}`` of a multipart/form-data body."""
    parts: dict[str, tuple[bytes, str | None]] = {}
    for chunk in raw.split(b"--" + boundary):
        if b"\r\n\r\n" not in chunk:
            continue
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        if name:
            parts[name.group(1).decode()] = (
                data.removesuffix(b"\r\n"),
                filename.group(1).decode() if filename else None,
            )
    return parts


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    state: LLMServer


@contextmanager
def serve(api_key: str, **options: Any) -> Iterator[LLMServer]:
    """Run an :class:`LLMServer` on 127.0.0.1 (ephemeral port) in a thread for the block."""
    state = LLMServer(api_key, **options)
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.state = state
    state.httpd = httpd
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


if __name__ == "__main__":  # python tests/llm_server.py KEY [LATENCY_S]; prints the base URL; GET /v1/_stats
    import sys

    with serve(sys.argv[1], latency_s=float(sys.argv[2]) if len(sys.argv) > 2 else 0.0) as s:
        print(s.base_url, flush=True)
        threading.Event().wait()
