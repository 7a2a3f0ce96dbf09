"""A vocabulary's phrasing compiled into one fast scanner: where does a report name each finding?

All plain phrases of all findings, and the literal start of every regex pattern, go into one
trie-shaped regex that stops only at word starts where one of them begins (:mod:`.rules_trie`).
A stop is routed by its first letters to the regexes that may match there, which are tried
anchored at that position. Mentions are confirmed at once; the regexes that can only take a
mention away (``exclude``, ``exclude_sentence``, ``keep_sentence``) or add an ``absent`` statement are kept as
pending and tried only when the answer depends on them — most findings are not named in most
reports, so most of them never run. All matching is on text lower-cased by
:func:`~.rules_trie.lower`, which keeps offsets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from radcurate.plugins.extractors.rules.phrases import (
    PhraseEntry,
    SynonymTable,
    lower_pattern,
    phrase_atoms,
    phrase_key,
)
from radcurate.plugins.extractors.rules.trie import literal_atoms, literal_prefixes, trie_regex

MENTION, EXCLUDE, EXCLUDE_SENTENCE, KEEP_SENTENCE, ABSENT = range(5)
# how far before a mention an exclusion may start and still cover it (characters)
_EXCLUSION_REACH = 200

Span = tuple[int, int]


class _Probe(NamedTuple):
    """A regex tried at a word start where the scanner saw one of its anchors."""

    finding: int
    role: int
    regex: re.Pattern[str]


@dataclass
class FindingSpans:
    """What one report says of one finding: mentions found, and checks still pending.

    ``pending[role]`` holds (position, regex) pairs for the exclusion and absent roles; the
    methods below run only those that can matter.
    """

    mentions: list[Span] = field(default_factory=list)
    pending: tuple[list[tuple[int, re.Pattern[str]]], ...] = field(default_factory=lambda: ([], [], [], [], []))
    low: str = ""

    def _run(self, role: int, keep: Callable[[int], bool] | None = None) -> list[Span]:
        out = []
        for pos, regex in self.pending[role]:
            if keep is not None and not keep(pos):
                continue
            hit = regex.match(self.low, pos)
            if hit and hit.end() > pos:
                out.append(hit.span())
        return out

    def kept_mentions(self) -> list[Span]:
        """Mentions not covered by an ``exclude`` phrase or pattern, in text order."""
        mentions = sorted(self.mentions)
        if not mentions or not self.pending[EXCLUDE]:
            return mentions
        first, last = mentions[0][0] - _EXCLUSION_REACH, mentions[-1][1]
        excluded = self._run(EXCLUDE, lambda pos: first <= pos < last)
        return [(a, b) for a, b in mentions if not any(x <= a < y for x, y in excluded)]

    def excluding_sentences(self, in_sentence: Callable[[int], bool]) -> tuple[list[Span], list[Span]]:
        """``exclude_sentence`` and ``keep_sentence`` hits inside the sentences ``in_sentence`` accepts."""
        excluded = self._run(EXCLUDE_SENTENCE, in_sentence)
        return excluded, self._run(KEEP_SENTENCE, in_sentence) if excluded else []

    def absent(self) -> list[Span]:
        """Spans of ``absent_when`` statements (``heart size is normal``)."""
        return self._run(ABSENT)


class FindingMatcher:
    """Finds the mentions of every finding of one vocabulary in a lower-cased report.

    Regex patterns are tried at word starts. A pattern whose matches all begin with known literal
    text (``(?:atheroma|plaque)...``) costs almost nothing; one that may begin anywhere
    (``\\w+ disease``) is run over every whole report, so keep a word at the front.
    """

    def __init__(self, findings: tuple[str, ...], tables: list[SynonymTable]):
        self.findings = findings
        entries: dict[str, PhraseEntry] = {f.casefold(): PhraseEntry(synonyms=[f]) for f in findings}
        for table in tables:  # later tables add to (or replace) earlier ones
            for key, (entry, replace) in table.items():
                if key not in entries:
                    continue
                if replace:
                    entries[key] = PhraseEntry(synonyms=[next(f for f in findings if f.casefold() == key)])
                entries[key].extend(entry)
        routes: dict[str, list[_Probe]] = {}
        scanned: list[list[str]] = []
        self._everywhere: list[_Probe] = []  # patterns with no literal start: run on the whole text
        for index, name in enumerate(findings):
            entry = entries[name.casefold()]
            for role, phrases, regexes in (
                (MENTION, entry.synonyms, entry.patterns),
                (EXCLUDE, entry.exclude, entry.exclude_patterns),
                (EXCLUDE_SENTENCE, entry.exclude_sentence, entry.exclude_sentence_patterns),
                (KEEP_SENTENCE, entry.keep_sentence, entry.keep_sentence_patterns),
                (ABSENT, entry.absent_when, entry.absent_patterns),
            ):
                phrases = list(dict.fromkeys(phrases))
                if phrases:
                    probe = _Probe(index, role, re.compile(trie_regex(phrase_atoms(p) for p in phrases)))
                    for phrase in phrases:
                        _route(routes, phrase_key(phrase), probe)
                        scanned.append(phrase_atoms(phrase))
                for source in regexes:
                    source = lower_pattern(source)
                    probe = _Probe(index, role, re.compile(source))
                    anchors = literal_prefixes(source)
                    if anchors is None:
                        self._everywhere.append(probe)
                        continue
                    for anchor in anchors:
                        _route(routes, anchor[:4], probe)
                        scanned.append(([r"\b"] if _is_word(anchor[0]) else []) + literal_atoms(anchor))
        # each key also carries the probes of its shorter keys, so the longest key found is enough
        self._routes = {
            key: tuple(dict.fromkeys(p for n in range(1, len(key) + 1) for p in routes.get(key[:n], ())))
            for key in routes
        }
        self._key_lengths = sorted({len(k) for k in routes}, reverse=True)
        # zero-width scan: every position where some phrase or anchor begins, overlapping hits included
        self._scanner = re.compile("(?=" + trie_regex(scanned) + ")")

    @property
    def everywhere(self) -> list[str]:
        """Patterns that cannot be anchored and so scan every report in full (slow; see class doc)."""
        return [p.regex.pattern for p in self._everywhere]

    def spans(self, low: str) -> list[FindingSpans | None]:
        """Per finding, in vocabulary order, what ``low`` (lower-cased) says of it; None: nothing."""
        out: list[FindingSpans | None] = [None] * len(self.findings)
        routes, lengths = self._routes, self._key_lengths
        for m in self._scanner.finditer(low):
            pos = m.start()
            for n in lengths:
                probes = routes.get(low[pos : pos + n])
                if probes is None:
                    continue
                for finding, role, regex in probes:
                    span: Span | None = None
                    if role == MENTION:
                        hit = regex.match(low, pos)
                        if hit is None or hit.end() == pos:
                            continue
                        span = hit.span()
                    spans = out[finding]
                    if spans is None:
                        spans = out[finding] = FindingSpans(low=low)
                    if span is not None:
                        spans.mentions.append(span)
                    else:
                        spans.pending[role].append((pos, regex))
                break
        for probe in self._everywhere:
            for hit in probe.regex.finditer(low):
                if hit.end() <= hit.start():
                    continue
                spans = out[probe.finding]
                if spans is None:
                    spans = out[probe.finding] = FindingSpans(low=low)
                if probe.role == MENTION:
                    spans.mentions.append(hit.span())
                else:
                    spans.pending[probe.role].append((hit.start(), probe.regex))
        return out


def _route(routes: dict[str, list[_Probe]], key: str, probe: _Probe) -> None:
    bucket = routes.setdefault(key, [])
    if all(p is not probe for p in bucket):
        bucket.append(probe)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"
