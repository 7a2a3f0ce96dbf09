"""What an extraction run reports back: the summary of a run and the dry-run cost estimate."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class ExtractionSummary:
    """Counts of one extraction run (``radcurate extract --json`` prints :meth:`as_json`).

    ``reports`` is how many reports the project has; ``skipped`` were already labelled by this
    source, extractor version and prompt; the rest were ``labelled`` or ``quarantined``
    (``flagged`` counts labelled reports with a flagged label, e.g. evidence not in the report).
    ``requests`` counts answers fetched from the endpoint in this run (the client's own retries
    are not counted), ``cache_hits`` answers reused from the store. Tokens and cost are what
    this run spent; the labels carry the usage of the answer they came from.
    """

    job: int | None
    source: str
    extractor: str
    version: str
    status: str = "running"
    prompt_hash: str | None = None
    model: str | None = None
    reports: int = 0
    skipped: int = 0
    todo: int = 0
    labelled: int = 0
    quarantined: int = 0
    flagged: int = 0
    requests: int = 0
    cache_hits: int = 0
    failed_requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    batches: list[str] = dataclasses.field(default_factory=list)

    @property
    def done(self) -> int:
        return self.labelled + self.quarantined

    @property
    def reports_per_s(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def message(self) -> str:
        """One line for the job record and the progress bar."""
        text = f"{self.done}/{self.todo} reports, {self.quarantined} quarantined"
        if self.requests or self.cache_hits:
            text += f", {self.requests} requests, {self.cache_hits} cached, ${self.cost_usd:.4f}"
        return text

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["cost_usd"] = round(self.cost_usd, 6)
        data["seconds"] = round(self.seconds, 3)
        data["reports_per_s"] = round(self.reports_per_s, 1)
        return data


@dataclass(frozen=True)
class CostEstimate:
    """``--dry-run``: what a run would send and roughly cost, before anything is sent."""

    source: str
    extractor: str
    model: str | None
    reports: int
    skipped: int
    todo: int
    cache_hits: int
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    token_estimate: str

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["dry_run"] = True
        data["cost_usd"] = round(self.cost_usd, 6)
        return data
