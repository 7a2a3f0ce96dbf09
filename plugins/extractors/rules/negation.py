"""Negation and uncertainty scopes inside one sentence (NegEx-style, with clause awareness).

A *cue* such as ``no``, ``without`` (before what it negates) or ``was not detected`` (after it)
governs a *scope*, a stretch of its sentence. NegEx (Chapman et al., 2001) ends a scope at
terminators such as ``but`` or ``however``; radiology reports need more rules, all about
clauses rather than words:

* A list stays inside one scope: ``no evidence of focal infiltrate, effusion or pneumothorax``
  negates all three, and so does ``Pericardial, pleural effusion was not detected``.
* A comma or ``and`` that starts a new clause ends it: ``No effusion was detected, atelectasis
  is observed`` negates only the effusion. The test is whether the words already inside the scope
  carry their own verb (``was detected``): after that, the next comma or ``and`` opens a new clause.
  Backward scopes (``... was not detected``) stop at a comma whose preceding words carry a verb.
* A relative clause that owns the cue keeps it: a partitive one (``lymph nodes, the largest of
  which was not observed in pathological size``), an unclosed ``, which ...``, or one whose first
  verb is the cue (``density with air bronchograms that were not observed before``). One closed
  by commas is skipped (``The effusion, which was seen before, was not detected``).

*Pseudo-cues* look like cues but are not (``no significant change``, ``did not reach``); the
longest cue at a position wins, so their words never act as cues. Uncertainty works the same way
(``possible``, ``may represent``, ``suspicious for``, ``cannot be excluded``); a question mark
makes the words before it uncertain, back to the opening bracket when it sits inside one
(``(lymph node?)``), else back to the previous comma. A mention inside both a negation and an
uncertainty scope is negated (``no evidence of possible pneumonia``).

Cues are written as templates in :mod:`.rules_cues` and expanded into one trie-shaped regex, so a
sentence is scanned once for cues, clause breaks and verbs together.
"""

from __future__ import annotations

import enum
import functools
import re
from bisect import bisect_left
from dataclasses import dataclass

from radcurate.plugins.extractors.rules.cues import SEEN_WORDS, cue_templates, expand
from radcurate.plugins.extractors.rules.trie import trie_regex


class Assertion(enum.StrEnum):
    """How one sentence states one mention."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"


Lexicon = tuple[re.Pattern[str], dict[str, str]]
ExtraCues = tuple[tuple[str, tuple[str, ...]], ...]


@functools.cache
def cue_lexicon(seen: tuple[str, ...] = SEEN_WORDS, extra: ExtraCues = ()) -> Lexicon:
    """One scanner for every cue phrase, commas and question marks; and the kind of each phrase.

    ``seen`` and ``extra`` come from the label conventions (:mod:`.conventions`). Built on first
    use (a few thousand phrases, about a quarter of a second), not at import; one per conventions.
    """
    kinds: dict[str, str] = {}
    for kind, templates in cue_templates(seen, {k: list(v) for k, v in extra}).items():
        for template in templates:
            for phrase in expand(template):
                kinds.setdefault(phrase, kind)  # earlier kinds win a tie
    sequences = [[r"\s+" if ch == " " else re.escape(ch) for ch in phrase] for phrase in kinds]
    kinds[","] = "break"
    kinds["?"] = "qmark"
    # ": none" and "- none" start at their punctuation, which has no word boundary before a space
    return re.compile(r"(?:\b|(?=[:\-]))" + trie_regex(sequences) + r"\b|,|\?"), kinds


_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SentenceScopes:
    """Negated and uncertain character ranges of one sentence (absolute offsets in the report)."""

    negated: tuple[tuple[int, int], ...]
    uncertain: tuple[tuple[int, int], ...]

    def assertion(self, start: int, end: int | None = None) -> Assertion:
        """How the sentence states a mention ``[start, end)``.

        A mention counts as inside a scope if it starts there, or if the scope opens inside the
        mention and reaches its last character: a pattern that names the organ first and the
        finding last (``the aortic wall shows no calcification``, ``the aortic wall may show
        calcified plaque``) is governed by a cue between the two.
        """
        last = start if end is None else end - 1
        for a, b in self.negated:
            if a <= start < b or start < a <= last < b:
                return Assertion.NEGATED
        for a, b in self.uncertain:
            if a <= start < b or start < a <= last < b:
                return Assertion.UNCERTAIN
        return Assertion.AFFIRMED


_NO_SCOPES = SentenceScopes((), ())


def sentence_scopes(low: str, start: int, end: int, lexicon: Lexicon | None = None) -> SentenceScopes:
    """Negation and uncertainty scopes of the sentence ``low[start:end]`` (lower-cased text)."""
    cues: list[tuple[str, int, int]] = []
    heading: list[tuple[int, int]] = []
    scoped = False
    scanner, kinds = lexicon or cue_lexicon()
    for m in scanner.finditer(low, start, end):
        token = m.group()
        kind = kinds.get(token)
        if kind is None:
            kind = kinds[_SPACES.sub(" ", token)]
        c_start, c_end = m.span()
        if kind == "colon_neg":
            if low[c_end:end].strip(_CLAUSE_END):  # "Findings: no effusion": an ordinary cue after the colon
                word = low.index(token.lstrip(":- \t\r\n")[:2], c_start + 1)
                rest = _SPACES.sub(" ", low[word:c_end])
                kind = kinds.get(rest, "post_neg" if rest.startswith("not ") else "pre_neg")
                if kind == "pre_neg" and len(low[start:c_start].split()) <= _HEADING_WORDS:
                    heading.append((start, c_start))  # "Lymph nodes: no enlarged nodes" denies the heading too
                c_start = word
            else:
                kind = "post_neg"
        cues.append((kind, c_start, c_end))
        scoped = scoped or kind in _SCOPED
    if not scoped:
        return _NO_SCOPES
    clauses = _Clauses(low, start, end, cues)
    negated: list[tuple[int, int]] = list(heading)
    uncertain: list[tuple[int, int]] = []
    for kind, c_start, c_end in cues:
        if kind in ("pre_neg", "post_neg") and _about_an_earlier_exam(low, c_end, clauses):
            continue  # "was not present on the prior study": a denial of the past, not of this scan
        if kind == "pre_neg":
            negated.append((c_end, clauses.forward_end(c_end, low.startswith(_PREPOSITIONS, c_start))))
        elif kind == "post_neg":
            negated.append((clauses.backward_start(c_start), c_start))
        elif kind == "pre_unc":
            uncertain.append((c_end, clauses.forward_end(c_end)))
        elif kind == "post_unc":
            uncertain.append((clauses.backward_start(c_start), c_start))
        elif kind == "both_unc":  # "atelectasis versus consolidation": both sides are in doubt
            uncertain.append((clauses.backward_start(c_start), c_start))
            uncertain.append((c_end, clauses.forward_end(c_end)))
        elif kind == "qmark":
            uncertain.append((clauses.question_start(c_start), c_start))
    return SentenceScopes(tuple(negated), tuple(uncertain))


_EARLIER_EXAM = re.compile(
    r"\s*(?:[\w-]+\s+){0,2}?(?:(?:on|in|at|from)\s+(?:the\s+)?(?:prior|previous|earlier|preceding|last|older?)\s+"
    r"(?:stud(?:y|ies)|exam\w*|ct\b|scans?|imaging|examinations?)|previously\b)"
)


_NOW = re.compile(r"\b(?:now|currently|today|this\s+(?:study|exam\w*|scan))\b")


def _about_an_earlier_exam(low: str, cue_end: int, clauses: _Clauses) -> bool:
    """Whether a negation cue denies the finding only in an earlier examination, while the sentence
    speaks of it now ("was not present on the prior study but is seen now")."""
    if _EARLIER_EXAM.match(low, cue_end, clauses.end) is None:
        return False
    return _NOW.search(low, cue_end, clauses.end) is not None


_SCOPED = frozenset({"pre_neg", "post_neg", "pre_unc", "post_unc", "both_unc", "qmark"})
_HEADING_WORDS = 4  # "Lymph nodes:", "Pleural effusion:" — a longer text before a colon is a sentence
_CLAUSE_END = " \t\r\n.;,)!"
_PARTICIPLE = re.compile(
    r"\s*(?:previously\s+|already\s+|also\s+)?(?:seen|noted|described|identified|reported|demonstrated|detected|"
    r"observed|measuring|known|mentioned)\b"
)
_PREPOSITIONS = ("without", "absence of", "lack of", "free of", "clear of", "negative for")
_DETERMINER = re.compile(r"\s*(?:the|a|an|there|this|these|those|it|its|both|another|his|her|their)\b")
_COORDINATOR = re.compile(r"\b(?:or|and|nor|as well as|and/or)\b|/")
_VERBS = frozenset({"verb", "post_neg", "post_unc"})
_MODALS = ("may ", "might ", "could ", "can ")  # hedging cues that are also the verb of their clause


class _Clauses:
    """Clause boundaries of one sentence, shared by all its cues.

    A relative clause set off by commas (``The effusion, which was seen before, was not
    detected``) is a parenthesis: its verbs and commas are ignored, so the negation reaches the
    subject. An unclosed one (``..., which was not seen before``) or a partitive one (``the
    largest of which``) keeps its cues to itself.
    """

    def __init__(self, low: str, start: int, end: int, cues: list[tuple[str, int, int]]):
        self.low, self.start, self.end = low, start, end
        breaks = [(s, e) for kind, s, e in cues if kind in ("break", "and")]
        commas = [s for kind, s, _ in cues if kind == "break"]
        hidden: list[tuple[int, int]] = []
        back_terms = []
        relatives = []
        for kind, s, e in cues:
            if kind != "back_term":
                continue
            if low.startswith("of ", s):
                back_terms.append(e)
            elif low[start:s].rstrip().endswith(","):
                comma_before = low.rindex(",", start, s)
                closing = next((c for c in commas if c > s), None)
                if closing is None:
                    back_terms.append(e)
                else:
                    hidden.append((comma_before, closing + 1))
            else:
                relatives.append(e)
        # a participial phrase set off by commas is a parenthesis too: "The nodule, seen on the prior
        # study, is no longer present"
        for first, second in zip(commas, commas[1:], strict=False):
            if _PARTICIPLE.match(low, first + 1, second) and not any(a <= first < b for a, b in hidden):
                hidden.append((first, second + 1))

        self.hidden = hidden

        def visible(pos: int) -> bool:
            return not any(a <= pos < b for a, b in hidden)

        self.terms = [s for kind, s, _ in cues if kind == "term"]
        self.back_terms = [e for e in back_terms if visible(e)] + [e for kind, _, e in cues if kind == "term"]
        self.relatives = [e for e in relatives if visible(e)]
        self.breaks = [(s, e) for s, e in breaks if visible(s)]
        self.neg_starts = {s for kind, s, _ in cues if kind == "pre_neg"}
        self.verbs = [
            s
            for kind, s, _ in cues
            if (kind in _VERBS or (kind == "pre_unc" and low.startswith(_MODALS, s))) and visible(s)
        ]
        # ", and" followed by its own verb starts a new clause even inside a verbless scope
        self.clause_starts = {
            s for kind, s, _ in cues if kind == "and" and low[start:s].rstrip().endswith(",") and visible(s)
        }

    def _has_verb(self, a: int, b: int) -> bool:
        i = bisect_left(self.verbs, a)
        return i < len(self.verbs) and self.verbs[i] < b

    def _starts_with_neg(self, pos: int) -> bool:
        """Whether the words from ``pos`` open with a pre-negation cue (after spaces)."""
        while pos < self.end and self.low[pos].isspace():
            pos += 1
        return pos in self.neg_starts

    def _item_negated_before(self, pos: int) -> bool:
        """Whether the cue ending at ``pos`` follows a comma whose item before it opened with its own cue."""
        before = [(s, e) for s, e in self.breaks if e <= pos]
        if not before or self.low[before[-1][0]] != ",":
            return False
        comma_start, comma_end = before[-1]
        if not self._starts_with_neg(comma_end):  # this cue does not open its item
            return False
        item_start = before[-2][1] if len(before) > 1 else self.start
        return self._starts_with_neg(item_start) and not self._has_verb(item_start, comma_start)

    def _clause_after_comma(self, i: int, limit: int, prepositional: bool) -> bool:
        """Whether the comma ``breaks[i]`` opens a clause of its own: the words after it carry a verb
        before any ``or``/``and``/``nor``, and either the cue was a preposition (``Without effusion,
        atelectasis is seen``) or the words open with a determiner (``No effusion, the heart is
        enlarged``). A list shares its verb: ``No nodule, mass or effusion is seen``, ``no mass,
        nodule-infiltration was detected``."""
        b_start, b_end = self.breaks[i]
        if self.low[b_start] != ",":
            return False
        if not prepositional and _DETERMINER.match(self.low, b_end) is None:
            return False
        nxt = self.breaks[i + 1][0] if i + 1 < len(self.breaks) else limit
        j = bisect_left(self.verbs, b_end)
        if j == len(self.verbs) or self.verbs[j] >= min(nxt, limit):
            return False
        return _COORDINATOR.search(self.low, b_end, self.verbs[j]) is None

    def _parenthesis(self, pos: int) -> tuple[int, int] | None:
        return next(((a, b) for a, b in self.hidden if a <= pos < b), None)

    def forward_end(self, pos: int, prepositional: bool = False) -> int:
        """End of a forward scope starting at ``pos``.

        ``prepositional``: the cue is a preposition (``without``, ``in the absence of``), so what it
        negates cannot be the subject of a verb after the next comma.
        """
        inside = self._parenthesis(pos)
        if inside is not None:  # a cue inside ", which ...," governs only that clause
            return inside[1]
        limit = next((s for s in self.terms if s >= pos), self.end)
        seg_start = pos
        distributive = self._item_negated_before(pos)
        for i, (b_start, b_end) in enumerate(self.breaks):
            if b_start < pos:
                continue
            if b_start >= limit:
                break
            if self._has_verb(seg_start, b_start):
                return b_start
            # "no A, no B, small C": items that carry their own "no" end each other's scope, and once
            # the list has negated items one by one, an item without its own cue is not negated
            if self.low[b_start] == "," and (distributive or self._starts_with_neg(b_end)):
                return b_start
            if self._clause_after_comma(i, limit, prepositional):
                return b_start
            if b_start in self.clause_starts:
                nxt = self.breaks[i + 1][0] if i + 1 < len(self.breaks) else limit
                if self._has_verb(b_end, min(nxt, limit)):
                    return b_start
            seg_start = b_end
        return limit

    def backward_start(self, pos: int) -> int:
        """Start of a backward scope ending at ``pos``; earlier segments join while verbless.

        A relative pronoun without a comma (``density accompanied by air bronchograms that were not
        observed before``) ends the scope when the cue is the relative clause's own verb; when that
        clause has a verb of its own first (``nodule that may be located there cannot be
        excluded``), the cue is the main verb and reaches past it.
        """
        inside = self._parenthesis(pos)
        if inside is not None:
            return inside[0]
        limit = max((e for e in self.back_terms if e <= pos), default=self.start)
        for e in reversed(self.relatives):
            if limit < e <= pos and not self._has_verb(e, pos):
                limit = e
                break
        before = [(s, e) for s, e in self.breaks if limit <= s and e <= pos]
        for i in range(len(before) - 1, -1, -1):
            seg_start = before[i - 1][1] if i > 0 else limit
            if self._has_verb(seg_start, before[i][0]):
                return before[i][1]
        return limit

    def question_start(self, pos: int) -> int:
        """Start of the words a question mark at ``pos`` puts in doubt."""
        opening = self.low.rfind("(", self.start, pos)
        if opening > self.low.rfind(")", self.start, pos):
            return opening + 1
        comma = self.low.rfind(",", self.start, pos)
        return max(comma + 1, self.backward_start(pos))
