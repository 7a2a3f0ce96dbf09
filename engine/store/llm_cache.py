"""The LLM answer cache: one row per (report text, model, prompt), so no answer is paid for twice.

The key is ``sha256(report sha256, model, prompt hash)`` (the extractor computes it). A row is
written in the same transaction as the labels made from it, so after a crash either both exist or
neither does — and a rerun never re-sends a request whose answer was stored. Malformed answers
are cached too: at temperature 0 asking again would most likely return the same answer, and the
rerun re-validates the stored answer (and quarantines it again) without a request.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from radcurate.engine.store.database import utc_now


@dataclass(frozen=True)
class LLMAnswer:
    """One answer from an LLM endpoint: the message content (or the refusal) and what it cost."""

    content: str | None
    refusal: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: float


def get_many(db: sqlite_utils.Database, keys: Iterable[str]) -> dict[str, LLMAnswer]:
    """Stored answers for those of ``keys`` that have one."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, LLMAnswer] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for key, answer, t_in, t_out, cost in db.execute(
            f"SELECT key, answer, tokens_in, tokens_out, cost_usd FROM llm_cache WHERE key IN ({marks})", chunk
        ).fetchall():
            data = json.loads(answer)
            found[key] = LLMAnswer(data.get("content"), data.get("refusal"), int(t_in), int(t_out), float(cost))
    return found


def put(
    conn: sqlite3.Connection, key: str, *, report_sha256: str, model: str, prompt_hash: str, answer: LLMAnswer
) -> None:
    """Store an answer (caller holds the transaction; an existing key is kept, not overwritten)."""
    conn.execute(
        "INSERT OR REPLACE INTO llm_cache (key, report_sha256, model, prompt_hash, answer, tokens_in, tokens_out,"
        " cost_usd, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            report_sha256,
            model,
            prompt_hash,
            json.dumps({"content": answer.content, "refusal": answer.refusal}),
            answer.tokens_in,
            answer.tokens_out,
            answer.cost_usd,
            utc_now(),
        ),
    )


def count(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM llm_cache").fetchone()[0])
