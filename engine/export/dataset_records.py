"""What a curated export says about each study: its labels with provenance, report and patient.

Read through the project façade (``project.project_labels()`` holds the consensus rule, DESIGN §4)
and the store. Per finding the export records where the state came from:

* ``gold``: the project's gold — ``consensus`` ``adjudicated`` (with the adjudicator) or
  ``agreed`` — with every reader's state and decision time;
* ``unresolved``: readers disagree and nobody adjudicated; no state (training masks it), every
  reader's state listed;
* ``silver``: the shown extractor label, with the extractor, its version, conventions and model;
* ``reference``: only an imported reference source (e.g. CT-RATE's labels) has the finding.

The evidence quote comes with the silver label it supports (readers decide states, not quotes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from radcurate.engine.vocabulary import LabelState

#: How a state enters a training target: present → 1, absent / not mentioned → 0, else masked (−1).
TARGET = {"present": 1, "absent": 0, "not_mentioned": 0, "uncertain": -1}


@dataclass(frozen=True)
class FindingRecord:
    """One finding of one study in the export."""

    finding: str
    state: str | None
    provenance: dict[str, Any]
    evidence: str | None = None
    evidence_start: int | None = None
    evidence_end: int | None = None
    readers: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> int:
        return TARGET.get(self.state or "", -1)

    @property
    def readers_differ(self) -> bool:
        return len(set(self.readers.values())) > 1

    def as_json(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "state": self.state,
            "target": self.target,
            "origin": self.provenance.get("kind"),
            "provenance": self.provenance,
            "evidence": self.evidence,
            "evidence_start": self.evidence_start,
            "evidence_end": self.evidence_end,
            "readers": dict(self.readers) if self.readers_differ else {},
        }


@dataclass(frozen=True)
class StudyRecord:
    """One study as the export sees it, before pseudonyms and scrubbing are applied."""

    study_id: str
    patient_id: str
    series_id: str | None
    loader: str | None
    files: tuple[str, ...]
    report: str | None
    findings: tuple[FindingRecord, ...]


def _source_provenance(project: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for s in project.label_sources():
        details = {k: v for k, v in s.details.items() if k not in ("open_batches",)}
        out[s.name] = {
            "source": s.name,
            "extractor": s.plugin,
            "version": s.version,
            "conventions": details.get("conventions"),
            "details": details,
        }
    return out


def _decision_times(project: Any) -> dict[tuple[str, str, str], str]:
    rows = project.db.execute("SELECT study_id, finding, reader, decided_at FROM gold_labels").fetchall()
    return {(s, f, r): t for s, f, r, t in rows}


def _reference_states(project: Any) -> dict[str, dict[str, tuple[str, str]]]:
    """``{study: {finding: (state, source)}}`` from reference sources (the most recent first wins)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for s in project.label_sources(kind="reference"):
        rows = project.db.execute(
            "SELECT l.study_id, l.finding, l.state FROM silver_labels l WHERE l.source = ?"
            " AND l.report_sha256 IS (SELECT r.sha256 FROM reports r WHERE r.id = l.study_id)",
            [s.name],
        ).fetchall()
        for study_id, finding, state in rows:
            out.setdefault(study_id, {}).setdefault(finding, (state, s.name))
    return out


def _patient_of(series: list[Any], study_id: str) -> str:
    for record in series:
        pid = str(record.metadata.get("patient_id") or "").strip()
        if pid:
            return pid
    return study_id


def study_records(project: Any) -> list[StudyRecord]:
    """Every study that has a label of any kind, in import order."""
    findings = list(project.vocabulary)
    labels = project.project_labels()
    sources = _source_provenance(project)
    times = _decision_times(project)
    references = _reference_states(project)
    out: list[StudyRecord] = []
    for study_id in project.study_ids():
        effective, reference = labels.get(study_id, {}), references.get(study_id, {})
        if not effective and not reference:
            continue
        silver = project.shown_silver(study_id)[0]
        records = []
        for name in findings:
            label, quote = effective.get(name), silver.get(name)
            ev, ev_start, ev_end = (quote.evidence, quote.start, quote.end) if quote is not None else (None, None, None)
            if label is not None and label.origin != "silver":
                readers = dict(label.readers)
                prov: dict[str, Any] = {
                    "kind": "gold" if label.is_gold else "unresolved",
                    "consensus": label.origin,
                    "adjudicator": label.source if label.origin == "adjudicated" else None,
                    "readers": [
                        {"reader": r, "state": s, "decided_at": times.get((study_id, name, r))}
                        for r, s in sorted(readers.items())
                    ],
                }
                state = label.state.value if isinstance(label.state, LabelState) else None
                records.append(FindingRecord(name, state, prov, ev, ev_start, ev_end, readers))
            elif label is not None:
                prov = {"kind": "silver", **sources.get(label.source or "", {"source": label.source})}
                state = label.state.value if label.state else None
                records.append(FindingRecord(name, state, prov, ev, ev_start, ev_end))
            elif name in reference:
                state, source = reference[name]
                prov = {"kind": "reference", **sources.get(source, {"source": source})}
                records.append(FindingRecord(name, state, prov))
        series = project.series(study_id)
        first = series[0] if series else None
        report = project.report(study_id)
        out.append(
            StudyRecord(
                study_id,
                _patient_of(series, study_id),
                first.id if first else None,
                first.loader if first else None,
                tuple(first.files) if first else (),
                report.text if report is not None else None,
                tuple(records),
            )
        )
    return out


def snapshot_hash(records: list[StudyRecord]) -> str:
    """sha256 of the exported labels (study, finding, state, origin), original ids: the same labels
    give the same hash whatever the pseudonyms or file formats."""
    import hashlib

    rows = sorted(
        (r.study_id, f.finding, f.state or "", str(f.provenance.get("kind"))) for r in records for f in r.findings
    )
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()
