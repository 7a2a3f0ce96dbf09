"""Values that cross module lines for labels: a silver label from an extractor, a reader's decision.

Offsets are Python ``str`` indices into the report text as stored (``text[start:end] ==
evidence``), so the desktop can highlight the quote without searching for it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radcurate.engine.vocabulary import LabelState


@dataclass(frozen=True)
class SilverLabel:
    """One extractor's label for one finding in one report.

    ``evidence`` is the quote that supports the state (required for ``present`` and
    ``uncertain`` from the built-in extractors; may be given for ``absent``); ``start``/``end``
    locate it in the report. ``flags`` carries machine-readable warnings such as
    ``"evidence_not_in_report"``.
    """

    finding: str
    state: LabelState
    evidence: str | None = None
    start: int | None = None
    end: int | None = None
    confidence: float | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Decision:
    """A reader's gold decision, as stored (append-only; undo is a new decision).

    ``state`` is ``None`` only for an undo that takes a finding back to undecided. ``action``
    groups the decisions made by one keystroke (``confirm`` writes one per finding) so undo
    reverts them together; ``undoes`` names the decision an undo reverts.
    """

    id: int
    study_id: str
    finding: str
    reader: str
    state: LabelState | None
    previous_state: LabelState | None
    note: str | None
    decided_at: str
    kind: str = "decide"
    action: int = 0
    undoes: int | None = None
    report_sha256: str | None = None  # the report text the reader decided against
    series_id: str | None = None  # the series shown when deciding (None: not recorded)
    stale: bool = False  # the report text changed since: kept in the audit trail, not gold

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "action": self.action,
            "study": self.study_id,
            "finding": self.finding,
            "reader": self.reader,
            "state": self.state.value if self.state else None,
            "previous_state": self.previous_state.value if self.previous_state else None,
            "kind": self.kind,
            "undoes": self.undoes,
            "note": self.note,
            "time": self.decided_at,
            "report_sha256": self.report_sha256,
            "series": self.series_id,
            "stale": self.stale,
        }
