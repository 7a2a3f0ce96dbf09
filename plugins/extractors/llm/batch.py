"""The Batch API path of the LLM extractor, for 50k+ reports (OpenAI; vLLM takes the same JSONL).

Steps: write the requests as JSONL (one chat-completions body per line, ``custom_id`` = the
cache key, so an answer maps straight back to its cache row), upload each file with
``purpose="batch"``, create a batch per file, poll until it ends, download the output file (and
the error file), and hand back one answer or one failure per ``custom_id``. Validation, caching
and labelling then go through the same code as online answers.

OpenAI limits a batch input file to 50,000 requests and 200 MB; files are split below both.
For vLLM, the same JSONL runs offline with ``python -m vllm.entrypoints.openai.run_batch -i FILE
-o OUT --model M``; its output has the same line format as OpenAI's output file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radcurate.engine.files import atomic

MAX_REQUESTS = 50_000
MAX_BYTES = 190 * 1024 * 1024
ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass
class BatchOutcome:
    """How one batch ended: answers (chat-completion bodies) and failures, per ``custom_id``."""

    batch_id: str
    status: str
    completions: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def write_requests(folder: Path, stem: str, requests: Iterable[tuple[str, dict[str, Any]]]) -> list[Path]:
    """Write ``(custom_id, body)`` pairs as JSONL files of at most 50k requests / 190 MB each."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    lines: list[bytes] = []
    size = 0

    def flush() -> None:
        nonlocal lines, size
        if lines:
            path = folder / f"{stem}-{len(files) + 1:03d}.jsonl"
            atomic.write_bytes(path, b"".join(lines))
            files.append(path)
        lines, size = [], 0

    for custom_id, body in requests:
        line = (json.dumps({"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}) + "\n").encode()
        if lines and (len(lines) >= MAX_REQUESTS or size + len(line) > MAX_BYTES):
            flush()
        lines.append(line)
        size += len(line)
    flush()
    return files


async def submit(client: Any, path: Path) -> str:
    """Upload one JSONL file and create its batch; returns the batch id."""
    with path.open("rb") as fh:
        uploaded = await client.files.create(file=(path.name, fh.read(), "application/jsonl"), purpose="batch")
    batch = await client.batches.create(
        input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h", metadata={"created_by": "radcurate"}
    )
    return str(batch.id)


async def wait(client: Any, batch_id: str, *, poll_s: float, should_stop: Callable[[], Awaitable[bool]]) -> Any | None:
    """Poll until the batch ends; None if ``should_stop`` said so first (the batch keeps running).

    Polls back off from 0.25 s, doubling up to ``poll_s``: a small batch is collected in
    seconds, a day-long one costs a request every ``poll_s``.
    """
    delay = min(0.25, poll_s)
    while True:
        batch = await client.batches.retrieve(batch_id)
        if batch.status in TERMINAL:
            return batch
        if await should_stop():
            return None
        await asyncio.sleep(delay)
        delay = min(delay * 2, poll_s)


async def _lines(client: Any, file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    content = await client.files.content(file_id)
    return [json.loads(line) for line in content.text.splitlines() if line.strip()]


async def collect(client: Any, batch: Any) -> BatchOutcome:
    """Download a finished batch's output and error files."""
    outcome = BatchOutcome(str(batch.id), str(batch.status))
    if batch.status in ("failed", "cancelled") and not batch.output_file_id:
        errors = getattr(getattr(batch, "errors", None), "data", None) or []
        outcome.error = "; ".join(str(getattr(e, "message", e)) for e in errors) or f"batch {batch.status}"
    for line in await _lines(client, batch.output_file_id) + await _lines(client, batch.error_file_id):
        custom_id = str(line.get("custom_id"))
        response = line.get("response") or {}
        error = line.get("error")
        if response.get("status_code") == 200 and isinstance(response.get("body"), dict):
            outcome.completions[custom_id] = response["body"]
        else:
            body = response.get("body") or {}
            detail = (error or {}).get("message") if isinstance(error, dict) else None
            detail = detail or (body.get("error") or {}).get("message") if isinstance(body, dict) else detail
            outcome.failures[custom_id] = f"batch request failed (HTTP {response.get('status_code')}): {detail}"
    return outcome
