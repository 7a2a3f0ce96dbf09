"""The offline default extractor: synonyms, sentence-level negation and uncertainty, no model.

Per report: split into sections and sentences (:mod:`.rules_sentences`), find every mention of
every finding in one scan (:mod:`.rules_matcher`, phrasing from :mod:`.phrases`), and
decide for each mention whether its sentence affirms, negates or hedges it
(:mod:`.rules_negation`, cue words in :mod:`.rules_cues`). The mentions of one finding are then
combined the way a reader combines them:

* ``present`` if any sentence affirms it — reports negate broadly (``no nodular or infiltrative
  lesion``) and affirm specifically (``a 4 mm nodule in the right middle lobe``), so one
  affirmation outweighs a denial elsewhere. The label is flagged ``negated_elsewhere`` so a
  reviewer can look at such reports first.
* else ``uncertain`` if any sentence hedges it (``possible atelectasis``, ``(lymph node?)``);
* else ``absent`` if any sentence negates it, or states it is normal (``absent_when`` phrases
  such as ``heart size is normal`` for cardiomegaly);
* else ``not_mentioned``.

Evidence is the sentence of the deciding mention, with ``text[start:end] == evidence``; for
``absent`` it is the first negating sentence. Sections that only give the reason for the scan
(history, indication, technique, comparison) are not read.

Which reading of a phrase the labels follow is the *label conventions* (:mod:`.conventions`):
``clinical`` (default, what a radiologist means) or ``ctrate`` (CT-RATE's annotators' habits).
The conventions are part of the extractor's version and of its label source name (``rules`` for
clinical, ``rules:ctrate``), so labels made under different conventions are never mixed up.

The phrasing of CT-RATE's 18 findings ships in ``synonyms.toml``; see :mod:`.phrases`
for the synonym file format a project uses to add phrasings or to describe its own findings.
Findings with no phrasing at all are matched by their own name. A sentence that opens by placing
its findings in an earlier examination (``In the previous examination, there is consolidation
...``) and never says they are still there describes history, and is not read either.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, NamedTuple

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.plugins.extractors.rules.conventions import DEFAULT_CONVENTIONS, load_conventions
from radcurate.plugins.extractors.rules.matcher import ABSENT, EXCLUDE_SENTENCE, FindingMatcher, FindingSpans
from radcurate.plugins.extractors.rules.negation import Assertion, Lexicon, SentenceScopes, sentence_scopes
from radcurate.plugins.extractors.rules.phrases import builtin_synonyms, read_synonym_file
from radcurate.plugins.extractors.rules.sentences import CONTEXT_SECTIONS, Sentence, split_report
from radcurate.plugins.extractors.rules.trie import lower

_RANK = {Assertion.AFFIRMED: 0, Assertion.UNCERTAIN: 1, Assertion.NEGATED: 2}
_STATE = {
    Assertion.AFFIRMED: LabelState.PRESENT,
    Assertion.UNCERTAIN: LabelState.UNCERTAIN,
    Assertion.NEGATED: LabelState.ABSENT,
}


# "In the previous examination (of the patient), there is ..." with no word for the current scan
_EARLIER_EXAM = re.compile(
    r"(?:in|on)\s+the\s+(?:previous|prior|earlier|former|old)\s+"
    r"(?:examinations?|exams?|stud(?:y|ies)|ct(?:\s+scans?|\s+examinations?)?|imaging)"
    r"(?:\s+of\s+the\s+patient)?\s*,?\s+there\s+(?:is|are|was|were)\b"
    r"(?![^.]*\b(?:current|currently|present\s+examination|today|now|still|persists?|continues?)\b)"
)


class Mention(NamedTuple):
    """One place where a report names a finding, and how its sentence states it."""

    sentence: Sentence
    assertion: Assertion


class RuleBasedExtractor:
    """Rule-based report extractor (offline, deterministic, thousands of reports per second).

    Parameters
    ----------
    synonyms
        Optional project synonym file (TOML, format in :mod:`.phrases`) that adds phrasings
        to the built-in ones or describes findings outside CT-RATE's vocabulary. A missing or
        malformed file raises :class:`~radcurate.engine.errors.InputError` naming it, at once.
    conventions
        Label conventions, ``clinical`` (default) or ``ctrate``; InputError for another name.
    """

    name = "rules"
    version = "1.1.0"

    def __init__(self, synonyms: str | Path | None = None, conventions: str = DEFAULT_CONVENTIONS):
        self.conventions = load_conventions(conventions)
        self._lexicon: Lexicon = self.conventions.lexicon
        self._tables = [builtin_synonyms(), self.conventions.phrasing]
        self._synonyms = None if synonyms is None else Path(synonyms)
        # the version says what shaped the labels: a rerun under other conventions or phrasing relabels
        self.version = f"{type(self).version}+{self.conventions.name}"
        if self._synonyms is not None:
            self._tables.append(read_synonym_file(self._synonyms))  # fails now, naming the file
            digest = hashlib.sha256(self._synonyms.read_bytes()).hexdigest()
            self.version += f".synonyms.{digest[:12]}"
        self._matchers: dict[tuple[str, ...], FindingMatcher] = {}

    @property
    def source_name(self) -> str:
        """``rules`` under the default conventions, ``rules:<conventions>`` under others."""
        return self.name if self.conventions.name == DEFAULT_CONVENTIONS else f"{self.name}:{self.conventions.name}"

    def details(self, vocabulary: Vocabulary) -> dict[str, Any]:
        """What the run records about this extractor: its conventions and the project synonym file, if any."""
        out: dict[str, Any] = {"conventions": self.conventions.name, "conventions_sha256": self.conventions.digest}
        if self._synonyms:
            out["synonyms"] = str(self._synonyms)
        return out

    def _matcher(self, vocabulary: Vocabulary) -> FindingMatcher:
        matcher = self._matchers.get(vocabulary.findings)
        if matcher is None:
            matcher = self._matchers[vocabulary.findings] = FindingMatcher(vocabulary.findings, self._tables)
        return matcher

    def extract(self, text: str, vocabulary: Vocabulary) -> list[SilverLabel]:
        """Return one label per vocabulary finding, in vocabulary order."""
        matcher = self._matcher(vocabulary)
        report = _Report(text, lower(text), self._lexicon)
        spans = matcher.spans(report.low)
        return [
            report.label(finding, found)
            if found is not None and (found.mentions or found.pending[ABSENT])
            else _NOT_MENTIONED[finding]
            for finding, found in zip(matcher.findings, spans, strict=True)
        ]


class _NotMentioned(dict[str, SilverLabel]):
    """Shared ``not_mentioned`` labels (immutable), one per finding name."""

    def __missing__(self, finding: str) -> SilverLabel:
        label = self[finding] = SilverLabel(finding, LabelState.NOT_MENTIONED)
        return label


_NOT_MENTIONED = _NotMentioned()


class _Report:
    """One report being labelled: its layout plus per-sentence scopes, computed on first use."""

    def __init__(self, text: str, low: str, lexicon: Lexicon):
        self.text = text
        self.low = low
        self.lexicon = lexicon
        self.layout = split_report(text)
        self._scopes: dict[int, SentenceScopes] = {}

    def _mention(self, start: int, assertion: Assertion | None = None, end: int | None = None) -> Mention | None:
        index = self.layout.sentence_at(start)
        if index is None:
            return None
        sentence = self.layout.sentences[index]
        if sentence.section in CONTEXT_SECTIONS or _EARLIER_EXAM.match(self.low, sentence.start, sentence.end):
            return None
        if assertion is None:
            scopes = self._scopes.get(index)
            if scopes is None:
                scopes = self._scopes[index] = sentence_scopes(self.low, sentence.start, sentence.end, self.lexicon)
            assertion = scopes.assertion(start, end)
        return Mention(sentence, assertion)

    def label(self, finding: str, spans: FindingSpans) -> SilverLabel:
        best: Mention | None = None
        negated = False
        mentions = spans.kept_mentions() if spans.mentions else []
        skip: set[int | None] = set()
        if mentions and spans.pending[EXCLUDE_SENTENCE]:
            sentence_at = self.layout.sentence_at
            named = {sentence_at(a) for a, _ in mentions}
            excluded, kept = spans.excluding_sentences(lambda pos: sentence_at(pos) in named)
            skip = {sentence_at(a) for a, _ in excluded} - {sentence_at(a) for a, _ in kept}
        for start, end in mentions:
            if skip and self.layout.sentence_at(start) in skip:
                continue
            mention = self._mention(start, end=end)
            if mention is None:
                continue
            negated = negated or mention.assertion is Assertion.NEGATED
            if best is None or _RANK[mention.assertion] < _RANK[best.assertion]:
                best = mention
                if mention.assertion is Assertion.AFFIRMED and negated:
                    break
        if (best is None or best.assertion is Assertion.NEGATED) and spans.pending[ABSENT]:
            for start, _ in spans.absent():
                mention = self._mention(start, Assertion.NEGATED)
                if mention is not None:
                    best = best or mention
                    negated = True
                    break
        if best is None:
            return SilverLabel(finding, LabelState.NOT_MENTIONED)
        s = best.sentence
        flags = ("negated_elsewhere",) if negated and best.assertion is not Assertion.NEGATED else ()
        return SilverLabel(
            finding,
            _STATE[best.assertion],
            evidence=self.text[s.start : s.end],
            start=s.start,
            end=s.end,
            flags=flags,
        )
