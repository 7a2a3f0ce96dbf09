"""A tiny radcurate report extractor: a finding is present when the report names it.

It honours :class:`radcurate.engine.contracts.plugins.ReportExtractor`: class attributes ``name``
and ``version``, and ``extract(text, vocabulary)`` returning exactly one
:class:`~radcurate.engine.contracts.labels.SilverLabel` per finding of the vocabulary, in any
order. radcurate builds the class with keyword options (none are required), checks that every
finding got one label, stores the labels under the source name ``example`` and quarantines a
report whose ``extract`` raises :class:`~radcurate.engine.errors.ExtractionError`.

Rules, per finding and per sentence (a sentence ends at ``.``, ``;``, ``!``, ``?`` or a new line):

* the finding's name (case-insensitive) after the word "no" in its sentence → ``absent``;
* the name anywhere else → ``present`` (one affirmation outweighs a denial elsewhere);
* never named → ``not_mentioned``.

The evidence is the deciding sentence, with ``start``/``end`` its offsets so that
``text[start:end] == evidence`` (the review app highlights it without searching again).
"""

from __future__ import annotations

import re

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import ExtractionError
from radcurate.engine.vocabulary import LabelState, Vocabulary

_SENTENCE = re.compile(r"[^.;!?\n]+")
_NO = re.compile(r"\bno\b")


class KeywordExtractor:
    """Label each finding by whether the report names it (see the module docstring)."""

    name = "example"
    # Part of every label's provenance: change it when the rules change, and a rerun of
    # `radcurate extract` relabels every report instead of skipping the ones already done.
    version = "1.0.0"

    def __init__(self, **options: object) -> None:
        # radcurate passes keyword options from settings and flags (none for this plugin); accept
        # and ignore them so the plugin keeps working when a newer radcurate passes more.
        self.options = options

    def extract(self, text: str, vocabulary: Vocabulary) -> list[SilverLabel]:
        if not text.strip():
            raise ExtractionError("the report is empty")
        sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]
        return [self._label(finding, text, sentences) for finding in vocabulary]

    @staticmethod
    def _label(finding: str, text: str, sentences: list[tuple[int, int]]) -> SilverLabel:
        negated: SilverLabel | None = None
        for start, end in sentences:
            raw = text[start:end]
            # trim the spaces around the sentence so the quote is exactly what the reader sees
            start += len(raw) - len(raw.lstrip())
            end -= len(raw) - len(raw.rstrip())
            sentence = text[start:end]
            at = sentence.lower().find(finding.lower())
            if at < 0:
                continue
            if _NO.search(sentence.lower(), 0, at):
                negated = negated or SilverLabel(finding, LabelState.ABSENT, sentence, start, end)
            else:
                return SilverLabel(finding, LabelState.PRESENT, sentence, start, end, confidence=1.0)
        return negated or SilverLabel(finding, LabelState.NOT_MENTIONED)
