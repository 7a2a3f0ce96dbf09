"""PHI guard: report text bound for an LLM endpoint that is not on this machine is scrubbed first.

DESIGN §4: names, dates, IDs, the identifiers in the study's own DICOM headers and patterns are
replaced (:mod:`radcurate.engine.files.deidentify_text`, the same scrubber the curated export
uses) before a report leaves the machine. The scrubbed text is what is sent *and* what the LLM
cache keys, so a cached answer is never one made from raw text. On by default; ``--send-raw``
(mode ``off``) opts out and is recorded on the job. Mode ``always`` scrubs for a local endpoint
too (an on-machine vLLM that logs prompts, or a test that checks what a server receives).

Answers are still checked against the stored report: an evidence quote that spans a scrubbed
identifier is not found there and is flagged (kept as ``uncertain``), the cautious direction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlite_utils

from radcurate.engine.errors import InputError
from radcurate.engine.files.deidentify_text import Identifier, header_identifiers, scrub
from radcurate.engine.store import studies
from radcurate.engine.store.studies import Report

MODES = ("auto", "always", "off")
LOCAL_HOSTS = ("localhost", "localhost.localdomain", "ip6-localhost")


def endpoint_is_local(base_url: str) -> bool:
    """True when ``base_url`` names this machine (loopback); an empty URL is the provider's cloud."""
    if not base_url:
        return False
    host = (urlsplit(base_url).hostname or "").lower()
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def should_scrub(mode: str, base_url: str) -> bool:
    """Whether the run scrubs: ``always``; ``off`` never; ``auto`` unless the endpoint is local."""
    if mode not in MODES:
        raise InputError(f"phi guard must be one of {', '.join(MODES)}, got {mode!r}", field="phi_guard")
    return mode == "always" or (mode == "auto" and not endpoint_is_local(base_url))


def study_identifiers(db: sqlite_utils.Database, study_id: str) -> list[Identifier]:
    """The study id and the identifiers in its DICOM series' headers (one header per series)."""
    files = [s.files[0] for s in studies.series_for(db, study_id) if s.loader == "dicom" and s.files]
    found = header_identifiers(files)
    for s in studies.series_for(db, study_id):
        for key in ("patient_id", "accession_number"):
            value = str(s.metadata.get(key) or "").strip()
            if value:
                found.append(Identifier("ID", value))
    return [*found, Identifier("ID", study_id)]


def report_scrubber(db: sqlite_utils.Database) -> Callable[[Report], str]:
    """``report → scrubbed text`` for a run (a study's header identifiers are read once)."""
    cache: dict[str, list[Identifier]] = {}

    def scrubbed(report: Report) -> str:
        idents = cache.get(report.study_id)
        if idents is None:
            idents = cache[report.study_id] = study_identifiers(db, report.study_id)
        return scrub(report.text, idents).text

    return scrubbed
