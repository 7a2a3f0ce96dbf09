"""Checking an LLM's answer and turning it into silver labels with verified evidence.

An answer that cannot be used as a whole — a refusal, no content, bad JSON, no ``findings``
object, a finding the vocabulary does not have, a finding missing, a state outside the four —
raises :class:`~radcurate.engine.errors.ExtractionError` with the reason, and the extraction job
quarantines that report and goes on.

Evidence that does not occur in the report is handled per label, not per report: **the label is
kept, downgraded to ``uncertain`` and flagged ``evidence_not_in_report``** (the model's quote is
kept for the reviewer, without offsets). Why not reject: one invented quote says nothing about the
other findings of the same answer, and throwing away 17 good labels for one bad one costs a
re-request that at temperature 0 would likely repeat it. Why ``uncertain`` rather than the stated
state: the claim is unverified, and ``uncertain`` is what training masks and review ranking
surfaces, so an unverified label neither teaches the model nor hides from the reader. The job
also writes a quarantine record for the report (field ``evidence``) so the flag is visible in
``radcurate quarantine``. ``present`` with no quote at all is treated the same way
(``evidence_missing``); ``absent`` may come without a quote (absence is often stated as a normal
organ, not one phrase); ``not_mentioned`` carries no evidence.

Matching is tolerant of what models change when they copy: runs of whitespace (including line
breaks), letter case, typographic quotes and dashes, and a trailing full stop. The offsets always
point into the report as stored, and ``evidence`` is replaced by the exact slice
``text[start:end]``, so the desktop highlights what the report really says.
"""

from __future__ import annotations

import json
from typing import Any

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import ExtractionError
from radcurate.engine.vocabulary import LabelState, Vocabulary

EVIDENCE_NOT_IN_REPORT = "evidence_not_in_report"
EVIDENCE_MISSING = "evidence_missing"

_FOLD = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
_TRIM = " \t\r\n\"'.,;:\u201c\u201d\u2018\u2019"


def _normalise(text: str) -> tuple[str, list[int]]:
    """Folded, lower-cased, whitespace-collapsed text and, per character, its index in ``text``."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text.translate(_FOLD)):
        if ch.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                where.append(i)
            continue
        for low in ch.lower():  # lower() may lengthen a character ('İ'); map each piece back
            out.append(low)
            where.append(i)
    return "".join(out), where


class EvidenceLocator:
    """Finds quotes in one report (the report is normalised once, not per quote)."""

    def __init__(self, report: str):
        self.report = report
        self._normalised: tuple[str, list[int]] | None = None

    def find(self, quote: str) -> tuple[int, int] | None:
        """``(start, end)`` with ``report[start:end]`` matching ``quote`` tolerantly, or None."""
        quote = quote.strip()
        if not quote:
            return None
        exact = self.report.find(quote)
        if exact >= 0:
            return exact, exact + len(quote)
        if self._normalised is None:
            self._normalised = _normalise(self.report)
        text, where = self._normalised
        for candidate in (quote, quote.strip(_TRIM)):
            needle = _normalise(candidate)[0].strip()
            if not needle:
                continue
            pos = text.find(needle)
            if pos >= 0:
                return where[pos], where[pos + len(needle) - 1] + 1
        return None


def _parse(content: str | None, refusal: str | None) -> dict[str, Any]:
    if refusal:
        raise ExtractionError(f"the model refused to answer: {refusal.strip()[:200]}")
    if content is None or not content.strip():
        raise ExtractionError("the answer is empty")
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ExtractionError(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), dict):
        raise ExtractionError("the answer has no 'findings' object")
    return data["findings"]


def _by_finding(items: dict[str, Any], vocabulary: Vocabulary) -> dict[str, Any]:
    lookup = {name.casefold(): name for name in vocabulary}
    found: dict[str, Any] = {}
    unknown = []
    for key, item in items.items():
        name = lookup.get(str(key).strip().casefold())
        if name is None:
            unknown.append(str(key))
        elif name in found:
            raise ExtractionError(f"the answer gives finding {name!r} twice")
        else:
            found[name] = item
    if unknown:
        raise ExtractionError(f"the answer has finding(s) not in the vocabulary: {', '.join(map(repr, unknown))}")
    missing = [name for name in vocabulary if name not in found]
    if missing:
        raise ExtractionError(f"the answer leaves out finding(s): {', '.join(missing)}")
    return found


def _label(name: str, item: Any, locator: EvidenceLocator) -> SilverLabel:
    if not isinstance(item, dict):
        raise ExtractionError(f"finding {name!r}: expected an object with 'state' and 'evidence'")
    raw_state = item.get("state")
    states = {s.value: s for s in LabelState}
    state = states.get(str(raw_state).strip().lower().replace(" ", "_").replace("-", "_"))
    if state is None:
        raise ExtractionError(f"finding {name!r}: unknown state {raw_state!r}")
    quote = item.get("evidence")
    if quote is not None and not isinstance(quote, str):
        raise ExtractionError(f"finding {name!r}: evidence must be a string")
    quote = (quote or "").strip()
    if state is LabelState.NOT_MENTIONED:
        return SilverLabel(name, state)
    if not quote:
        if state is LabelState.PRESENT:
            return SilverLabel(name, LabelState.UNCERTAIN, flags=(EVIDENCE_MISSING,))
        return SilverLabel(name, state)
    span = locator.find(quote)
    if span is None:
        return SilverLabel(name, LabelState.UNCERTAIN, evidence=quote, flags=(EVIDENCE_NOT_IN_REPORT,))
    start, end = span
    return SilverLabel(name, state, evidence=locator.report[start:end], start=start, end=end)


def labels_from_answer(
    report: str, content: str | None, refusal: str | None, vocabulary: Vocabulary
) -> list[SilverLabel]:
    """Validate one answer against ``report``; one label per finding, in vocabulary order."""
    items = _by_finding(_parse(content, refusal), vocabulary)
    locator = EvidenceLocator(report)
    return [_label(name, items[name], locator) for name in vocabulary]
