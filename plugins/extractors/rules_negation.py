"""Negation and uncertainty scopes inside one sentence (NegEx-style, with clause awareness).

A *trigger* is a cue such as ``no``, ``without`` (before what it negates) or ``was not detected``
(after it); its *scope* is the stretch of the sentence it governs. NegEx (Chapman et al., 2001)
ends a scope at terminators such as ``but`` or ``however``; radiology reports need two more
rules, both about clauses rather than words:

* A list stays inside one scope: ``no evidence of focal infiltrate, effusion or pneumothorax``
  negates all three, and so does ``Pericardial, pleural effusion was not detected``.
* A comma or ``and`` that starts a new clause ends it: ``No effusion was detected, atelectasis
  is observed`` negates only the effusion. The test is whether the words already inside the scope
  carry their own verb (``was detected``): after that, the next comma or ``and`` opens a new clause.
  Backwards scopes (``... was not detected``) stop at a comma whose preceding words carry a verb,
  and at relative pronouns (``lymph nodes, the largest of which was not observed in pathological
  size``): the negation belongs to the relative clause, not to the lymph nodes.

*Pseudo-triggers* look like cues but are not (``no significant change``, ``not only``,
``did not reach``); they are matched first so their words never act as triggers.

Uncertainty works the same way (``possible``, ``may represent``, ``suspicious for``, ``cannot be
excluded``); a question mark makes the words before it uncertain, back to the opening bracket
when it sits inside one (``(lymph node?)``), else back to the previous comma. When a mention lies
in both a negation and an uncertainty scope, negation wins (``no evidence of possible pneumonia``).
"""

from __future__ import annotations

import enum
import re
from bisect import bisect_left
from dataclasses import dataclass


class Assertion(str, enum.Enum):
    """How one sentence states one mention."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"


_SEEN = (
    r"(?:detected|observed|seen|noted|found|identified|visuali[sz]ed|present|evident|demonstrated|"
    r"determined|encountered|monitored|followed|viewed|distinguished|selected|appreciated|visible|"
    r"recogni[sz]ed|shown|described|defined|depicted|discerned|delineated|revealed|reported|"
    r"documented|apparent|watched|measured|considered|evaluated in favor)"
)

_PSEUDO = [
    r"no\s+(?:significant\s+|apparent\s+|obvious\s+|marked\s+|notable\s+|remarkable\s+|interval\s+)*"
    r"(?:change|difference|increase|progression|regression|decrease|growth|enlargement in size)s?\b",
    r"not\s+(?:significantly\s+)?(?:changed|different|increased|progressed|only|necessarily)",
    r"without\s+(?:significant\s+|any\s+)?(?:change|difference|progression)",
    r"(?:did|does|do)\s+not\s+(?:reach|exceed|show|create|cause|contain|have)",
    r"not\s+(?:reaching|exceeding)",
    r"no\s+(?:longer\s+)?(?:further)",
    r"not\s+(?:be\s+)?(?:evaluated|assessed|examined|specific|characteri[sz]ed)",
    r"no\s+doubt",
    r"gram[\s-]+negative",
    r"cannot\s+be\s+evaluated",
]

_PRE_NEG = [
    r"no\s+(?:evidence|signs?|findings?|appearance|indication|suggestion)\s+(?:of|for|to\s+suggest)",
    r"(?:absence|lack|resolution|disappearance)\s+of",
    r"free\s+of",
    r"negative\s+for",
    r"without",
    r"neither",
    r"nor",
    r"no",
    r"none\s+of",
    r"not\s+(?:any|a|an)",
    r"never",
]

_POST_NEG = [
    r"(?:(?:is|are|was|were|has|have|had|be|been|could|can|did|does|do)\s+)?not\s+(?:be(?:en)?\s+)?"
    r"(?:clearly\s+|definitely\s+|significantly\s+)?" + _SEEN,
    r"cannot\s+be\s+" + _SEEN,
    r"(?:is|are|was|were)\s+(?:absent|negative)",
    r"(?:has|have|had)\s+(?:completely\s+)?(?:disappeared|resolved|been\s+lost)",
    r"(?:disappeared|resolved)",
    r"(?:is|are|was|were|has\s+been|have\s+been)\s+(?:ruled\s+out|excluded)",
    r"(?:have|has)\s+(?:completely\s+)?regressed\s+completely|(?:completely|totally)\s+regressed",
]

_PRE_UNC = [
    r"possib(?:le|ly)",
    r"probab(?:le|ly)",
    r"questionabl[ey]",
    r"equivocal",
    r"suspicious\s+(?:for|of)",
    r"suspicion\s+(?:for|of)",
    r"suspect(?:ed)?",
    r"concerning\s+for",
    r"(?:may|might)(?:\s+(?:also|be|represent|reflect|indicate|belong|correspond|suggest|due))*",
    r"could\s+(?:be|represent|reflect|indicate|belong|correspond)",
    r"(?:cannot|can\s+not|could\s+not)\s+(?:exclude|rule\s+out)",
    r"rule\s+out|r/o",
    r"differential\s+diagnos[ie]s(?:\s+(?:of|includes?))?",
    r"(?:versus|vs\.?)",
    r"cannot\s+be\s+differentiated\s+from",
    r"to\s+be\s+considered",
]

_POST_UNC = [
    r"(?:cannot|can\s+not|could\s+not|can't|not)\s+(?:be\s+)?(?:excluded|ruled\s+out)",
    r"(?:should|must|is\s+to)\s+be\s+(?:excluded|ruled\s+out|kept\s+in\s+mind|considered)",
    r"(?:is|are|was|were)\s+(?:suspected|questionable|possible|uncertain)",
    r"in\s+the\s+differential\s+diagnosis",
]

# End every forward and backward scope.
_TERMINATORS = [
    r"but",
    r"however",
    r"although",
    r"though",
    r"except(?:\s+for)?",
    r"apart\s+from",
    r"aside\s+from",
    r"besides",
    r"other\s+than",
    r"whereas",
    r"while",
    r"yet",
    r"nevertheless",
    r"in\s+addition",
    r"additionally",
    r"on\s+the\s+other\s+hand",
    r"instead",
]
# End backward scopes only: a negation after a relative pronoun belongs to the relative clause.
_BACK_TERMINATORS = [r"which", r"that", r"whose", r"where", r"who"]

# A finite verb or copula: once a scope holds one, a comma or "and" starts a new clause.
_PREDICATE = re.compile(
    r"\b(?:is|are|was|were|be|been|there|observed|seen|detected|noted|found|identified|present|"
    r"visuali[sz]ed|visible|shows?|showed|demonstrated|appears?|exists?|followed|monitored)\b",
    re.IGNORECASE,
)
_BREAK = re.compile(r",|\band\b", re.IGNORECASE)


def _group(name: str, alternatives: list[str]) -> str:
    return rf"(?P<{name}>\b(?:{'|'.join(alternatives)})\b)"


_TRIGGERS = re.compile(
    "|".join(
        [
            _group("pseudo", _PSEUDO),
            _group("post_unc", _POST_UNC),
            _group("post_neg", _POST_NEG),
            _group("pre_neg", _PRE_NEG),
            _group("pre_unc", _PRE_UNC),
            _group("term", _TERMINATORS),
            _group("back_term", _BACK_TERMINATORS),
            r"(?P<qmark>\?)",
        ]
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SentenceScopes:
    """Negated and uncertain character ranges of one sentence (absolute offsets in the report)."""

    negated: tuple[tuple[int, int], ...]
    uncertain: tuple[tuple[int, int], ...]

    def assertion(self, start: int) -> Assertion:
        """How the sentence states a mention starting at ``start``."""
        if any(a <= start < b for a, b in self.negated):
            return Assertion.NEGATED
        if any(a <= start < b for a, b in self.uncertain):
            return Assertion.UNCERTAIN
        return Assertion.AFFIRMED


def sentence_scopes(text: str, start: int, end: int) -> SentenceScopes:
    """Find the negation and uncertainty scopes of the sentence ``text[start:end]``."""
    triggers = [(m.lastgroup, m.start(), m.end()) for m in _TRIGGERS.finditer(text, start, end)]
    if not triggers:
        return SentenceScopes((), ())
    clauses = _Clauses(text, start, end, triggers)
    negated: list[tuple[int, int]] = []
    uncertain: list[tuple[int, int]] = []
    for kind, t_start, t_end in triggers:
        if kind == "pre_neg":
            negated.append((t_end, clauses.forward_end(t_end)))
        elif kind == "post_neg":
            negated.append((clauses.backward_start(t_start), t_start))
        elif kind == "pre_unc":
            uncertain.append((t_end, clauses.forward_end(t_end)))
        elif kind == "post_unc":
            uncertain.append((clauses.backward_start(t_start), t_start))
        elif kind == "qmark":
            uncertain.append((clauses.question_start(t_start), t_start))
    return SentenceScopes(tuple(negated), tuple(uncertain))


class _Clauses:
    """Clause boundaries of one sentence, computed once and shared by all its triggers."""

    def __init__(self, text: str, start: int, end: int, triggers: list[tuple[str | None, int, int]]):
        self.text, self.start, self.end = text, start, end
        self.terms = [(s, e) for kind, s, e in triggers if kind == "term"]
        self.back_terms = [(s, e) for kind, s, e in triggers if kind in ("term", "back_term")]
        self.breaks = [m.start() for m in _BREAK.finditer(text, start, end)]
        self.break_ends = [m.end() for m in _BREAK.finditer(text, start, end)]
        self.predicates = [m.start() for m in _PREDICATE.finditer(text, start, end)]

    def _has_predicate(self, a: int, b: int) -> bool:
        i = bisect_left(self.predicates, a)
        return i < len(self.predicates) and self.predicates[i] < b

    def forward_end(self, pos: int) -> int:
        limit = min((s for s, _ in self.terms if s >= pos), default=self.end)
        i = bisect_left(self.breaks, pos)
        seg_start = pos
        while i < len(self.breaks) and self.breaks[i] < limit:
            if self._has_predicate(seg_start, self.breaks[i]):
                return self.breaks[i]
            seg_start = self.break_ends[i]
            i += 1
        return limit

    def backward_start(self, pos: int) -> int:
        limit = max((e for _, e in self.back_terms if e <= pos), default=self.start)
        i = bisect_left(self.break_ends, pos + 1) - 1
        # the segment right before the trigger is always in scope; earlier ones only while verbless
        while i >= 0 and self.break_ends[i] > limit:
            prev_start = self.break_ends[i - 1] if i > 0 else limit
            if self._has_predicate(max(prev_start, limit), self.breaks[i]):
                return self.break_ends[i]
            i -= 1
        return limit

    def question_start(self, pos: int) -> int:
        opening = self.text.rfind("(", self.start, pos)
        closing = self.text.rfind(")", self.start, pos)
        if opening > closing:
            return opening + 1
        comma = self.text.rfind(",", self.start, pos)
        return max(comma + 1, self.backward_start(pos)) if comma >= 0 else self.backward_start(pos)
