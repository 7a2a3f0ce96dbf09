"""The offline default extractor: synonyms, sentence-level negation and uncertainty, no model.

Per report: split into sections and sentences (:mod:`.rules_sentences`), find every mention of
every finding with one precompiled pattern per finding (:mod:`.rules_phrases`), and decide for
each mention whether its sentence affirms, negates or hedges it (:mod:`.rules_negation`). The
mentions of one finding are then combined the way a reader combines them:

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

The phrasing of CT-RATE's 18 findings ships in ``rules_synonyms.toml``; see :mod:`.rules_phrases`
for the synonym file format a project uses to add phrasings or to describe its own findings.
Findings with no phrasing at all are matched by their own name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from radcurate.engine.labels import SilverLabel
from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.plugins.extractors.rules_negation import Assertion, SentenceScopes, sentence_scopes
from radcurate.plugins.extractors.rules_phrases import BUILTIN_SYNONYMS, CompiledFinding, compile_findings, read_synonym_file
from radcurate.plugins.extractors.rules_sentences import CONTEXT_SECTIONS, ReportLayout, Sentence, split_report

_RANK = {Assertion.AFFIRMED: 0, Assertion.UNCERTAIN: 1, Assertion.NEGATED: 2}
_STATE = {Assertion.AFFIRMED: LabelState.PRESENT, Assertion.UNCERTAIN: LabelState.UNCERTAIN, Assertion.NEGATED: LabelState.ABSENT}


@dataclass(frozen=True)
class Mention:
    """One place where a report names a finding, and how its sentence states it."""

    sentence: Sentence
    assertion: Assertion


class RuleBasedExtractor:
    """Rule-based report extractor (offline, deterministic, thousands of reports per second).

    Parameters
    ----------
    synonyms
        Optional project synonym file (TOML, format in :mod:`.rules_phrases`) that adds phrasings
        to the built-in ones or describes findings outside CT-RATE's vocabulary. A missing or
        malformed file raises :class:`~radcurate.engine.errors.InputError` naming it, at once.
    """

    name = "rules"
    version = "1.0.0"

    def __init__(self, synonyms: str | Path | None = None):
        self._files = [BUILTIN_SYNONYMS]
        if synonyms is not None:
            read_synonym_file(synonyms)  # fail now, naming the file, not at the first report
            self._files.append(Path(synonyms))
        self._compiled: dict[tuple[str, ...], list[CompiledFinding]] = {}

    def _findings(self, vocabulary: Vocabulary) -> list[CompiledFinding]:
        compiled = self._compiled.get(vocabulary.findings)
        if compiled is None:
            compiled = compile_findings(vocabulary.findings, self._files)
            self._compiled[vocabulary.findings] = compiled
        return compiled

    def extract(self, text: str, vocabulary: Vocabulary) -> list[SilverLabel]:
        """Return one label per vocabulary finding, in vocabulary order."""
        layout = split_report(text)
        report = _Report(text, layout)
        return [report.label(finding) for finding in self._findings(vocabulary)]


class _Report:
    """One report being labelled: its layout plus per-sentence scopes, computed on first use."""

    def __init__(self, text: str, layout: ReportLayout):
        self.text = text
        self.layout = layout
        self._scopes: dict[int, SentenceScopes] = {}

    def _assertion(self, index: int, start: int) -> Assertion:
        scopes = self._scopes.get(index)
        if scopes is None:
            s = self.layout.sentences[index]
            scopes = self._scopes[index] = sentence_scopes(self.text, s.start, s.end)
        return scopes.assertion(start)

    def _mentions(self, finding: CompiledFinding) -> Iterator[Mention]:
        excluded = [m.span() for m in finding.exclude.finditer(self.text)] if finding.exclude else []
        for m in finding.mention.finditer(self.text):
            index = self.layout.sentence_at(m.start())
            if index is None:
                continue
            sentence = self.layout.sentences[index]
            if sentence.section in CONTEXT_SECTIONS:
                continue
            if any(a < m.end() and m.start() < b for a, b in excluded):
                continue
            yield Mention(sentence, self._assertion(index, m.start()))
        if finding.absent is not None:
            for m in finding.absent.finditer(self.text):
                index = self.layout.sentence_at(m.start())
                if index is not None and self.layout.sentences[index].section not in CONTEXT_SECTIONS:
                    yield Mention(self.layout.sentences[index], Assertion.NEGATED)

    def label(self, finding: CompiledFinding) -> SilverLabel:
        best: Mention | None = None
        negated = False
        for mention in self._mentions(finding):
            negated = negated or mention.assertion is Assertion.NEGATED
            if best is None or _RANK[mention.assertion] < _RANK[best.assertion]:
                best = mention
        if best is None:
            return SilverLabel(finding.finding, LabelState.NOT_MENTIONED)
        s = best.sentence
        flags = ("negated_elsewhere",) if negated and best.assertion is not Assertion.NEGATED else ()
        return SilverLabel(
            finding.finding,
            _STATE[best.assertion],
            evidence=self.text[s.start : s.end],
            start=s.start,
            end=s.end,
            flags=flags,
        )
