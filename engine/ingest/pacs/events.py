"""What a PACS import reports: progress events for bars and jobs, and its summary (``import --json``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from radcurate.engine.contracts.pacs import RemoteSeries
from radcurate.engine.ingest.imports import ImportSummary


@dataclass(frozen=True)
class FetchEvent:
    """What the fetch is doing, for progress bars: ``kind`` is one of found, start, instance, retry,
    fetched, reused, failed, importing."""

    kind: str
    series: RemoteSeries | None = None
    index: int = 0  # 1-based position of the series in this run
    total: int = 0  # series to fetch in this run
    received: int = 0
    expected: int | None = None
    message: str = ""


FetchProgress = Callable[[FetchEvent], None]


@dataclass
class PacsImportSummary:
    """What one PACS import did (the ``import --json`` document for a PACS URL)."""

    source: str
    found: int = 0
    fetched: int = 0
    reused: int = 0
    skipped: list[RemoteSeries] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    instances: int = 0
    dicom_reports: int = 0
    stopped: str | None = None
    imported: ImportSummary = field(default_factory=ImportSummary)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "series": {
                "found": self.found,
                "fetched": self.fetched,
                "reused": self.reused,
                "failed": len(self.failed),
                "skipped": len(self.skipped),
            },
            "instances_fetched": self.instances,
            "reports_from_pacs": self.dicom_reports,
            "failed": self.failed,
            "skipped": [{**s.as_json(), "reason": f"modality {s.modality}, not CT"} for s in self.skipped],
            "stopped": self.stopped,
            **self.imported.as_json(),
        }

    def line(self) -> str:
        text = (
            f"{self.source}: {self.found} series found, {self.fetched} fetched, {self.reused} already fetched, "
            f"{len(self.failed)} failed; " + self.imported.line()
        )
        return text + (f"; stopped: {self.stopped}" if self.stopped else "")
