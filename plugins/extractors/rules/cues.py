"""The cue words of negation and uncertainty, as templates, grouped by what they do.

A template is a phrase with ``{a|b|}`` choices (an empty choice makes the words optional);
:func:`expand` spells out every combination. Kinds, in priority order when one phrase is listed
twice (a longer cue always beats a shorter one at the same position):

``pseudo``     looks like a cue but is not (``no significant change``, ``did not reach``)
``post_unc``   hedges the words before it (``cannot be excluded``)
``post_neg``   negates the words before it (``was not detected``)
``pre_neg``    negates the words after it (``no``, ``without``, ``no evidence of``)
``pre_unc``    hedges the words after it (``possible``, ``suspicious for``)
``term``       ends any scope (``but``, ``however``)
``back_term``  ends a backward scope (relative pronouns: ``which``, ``that``)
``and``        a conjunction: ends a scope that already holds a verb, like a comma
``verb``       a finite verb or copula: the mark of a new clause

``both_unc``   hedges the words on both sides (``atelectasis versus consolidation``)
``colon_neg``  ``: none`` after a finding (``Atelectasis: none``), only at the end of its clause

Phrasing follows English radiology reports. Words that mean "seen" only in CT-RATE's translations
from Turkish (``selected``, ``followed``, ``monitored`` render ``seçildi``/``izlendi``) are not
here: the ``ctrate`` conventions add them (:mod:`.conventions`), so that in plain English ``the
nodule was not followed up`` still reports a nodule.
"""

from __future__ import annotations

import itertools
import re

#: Words that say a thing is (not) seen, in plain English; conventions may add more.
SEEN_WORDS: tuple[str, ...] = (
    "detected", "observed", "seen", "noted", "found", "identified", "visualized", "visualised", "present",
    "evident", "demonstrated", "encountered", "appreciated", "visible", "recognized", "shown", "described",
    "defined", "depicted", "discerned", "delineated", "revealed", "documented", "apparent", "noticed",
    "perceived", "displayed", "confirmed", "detectable", "identifiable", "discernible", "conspicuous",
)  # fmt: skip
_BE = "{is|are|was|were|has been|have been|had been|be|been|could be|can be|could|can|did|does|do|}"
_CHANGE = (
    "{change|changes|difference|differences|increase|progression|regression|decrease|growth|enlargement|"
    "interval change|interval changes|interval increase|interval decrease|interval growth|interval progression|"
    "worsening|improvement|deterioration|interval worsening|interval improvement}"
)
_THERE = "{there is |there are |there was |there were |there has been |}"
_MODIFIER = (
    "{significant |apparent |obvious |marked |notable |remarkable |appreciable |definite |measurable |substantial |"
    "major |relevant |meaningful |considerable |noticeable |clear |discernible |visible |significant interval |}"
)


def cue_templates(
    seen: tuple[str, ...] = SEEN_WORDS, extra: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """The cue templates by kind, for a set of "seen" words and extra templates (from conventions)."""
    seen_ = "{" + "|".join(seen) + "}"
    table = {kind: [t.replace("{SEEN}", seen_) for t in templates] for kind, templates in _CUES.items()}
    for kind, templates in (extra or {}).items():
        table.setdefault(kind, []).extend(t.replace("{SEEN}", seen_) for t in templates)
    return table


_CUES: dict[str, list[str]] = {
    "pseudo": [
        # a change that did not happen says nothing against the finding that did not change
        _THERE + "no " + _MODIFIER + _CHANGE,
        _THERE + "no " + _MODIFIER + _CHANGE + " {in|of}",
        "not {significantly |}{changed|different|increased|progressed|only|necessarily}",
        "without {significant |any |}" + _CHANGE,
        "{did|does|do} not {reach|exceed|show|create|cause|contain|have}",
        "not {reaching|exceeding}",
        "no further",
        "{could|can|cannot|could not|can not} {be |}{evaluated|assessed|examined|characterized|differentiated}",
        "not {be |}{evaluated|assessed|examined|characterized|specific}",
        "no doubt",
        "{lack|absence} of {contrast|iv contrast|intravenous contrast|contrast material|contrast agent}",
        "{without|no} {iv |intravenous |}{contrast|contrast material|contrast agent}",
        "gram negative",
    ],
    "post_unc": [
        "{cannot|can not|could not|can't|not} {be |}{entirely |completely |fully |definitely |confidently |reliably |}"
        "{excluded|ruled out}",
        "{should|must|is to|are to} be {excluded|ruled out|kept in mind|considered}",
        "{is|are|was|were|seems|appears|is considered|are considered|considered|thought|felt} {suspected|questionable|"
        "possible|uncertain|not excluded|unlikely|less likely|not likely|doubtful|equivocal|indeterminate|"
        "borderline|not certain|likely|more likely|most likely|probable}",
        "{may|might|could} {also |}be {present|seen|noted|visible|evident|there}",
        "in the differential diagnosis",
    ],
    "post_neg": [
        _BE + " not {been |be |}{clearly |definitely |significantly |}{SEEN}",
        "cannot be {SEEN}",
        "{is|are|was|were|or|} {absent|negative}",
        "{has|have|had} {completely |since |now |fully |}{disappeared|resolved|cleared|been lost|regressed completely}",
        "{disappeared|resolved|cleared}",
        # "is no longer visible": resolution over time
        "{is|are|was|were|} no longer {SEEN}",
        # a size or wall said to be normal denies the enlargement or thickening that names the finding
        "{is|are|was|were|} not {significantly |}{enlarged|thickened|dilated|widened}",
        "{completely|totally} regressed",
        "{is|are|was|were|has been|have been} {ruled out|excluded}",
        "{was|were|has been|have been|had been} {removed|extracted|withdrawn}",
    ],
    "pre_neg": [
        "no {evidence|sign|signs|finding|findings|appearance|indication|suggestion} {of|for|to suggest}",
        "{absence|lack|resolution|disappearance|clearing} of",
        "{free|clear} of",
        "{there is |there are |}no longer {any |}",
        "negative for",
        "without",
        "neither",
        "nor",
        "no",
        "none of",
        "not {any|a|an}",
        "never",
        "there {is|are|was|were} no",
    ],
    "pre_unc": [
        "{possible|possibly|probable|probably|questionable|questionably|equivocal}",
        "{suspicious|suspicion} {for|of}",
        "{suspect|suspected}",
        "concerning for",
        "{may|might} {also |}{be|represent|reflect|indicate|belong to|correspond to|suggest|be due to|be related to|}",
        "could {be|represent|reflect|indicate|belong to|correspond to}",
        "{cannot|can not|could not} {exclude|rule out}",
        "rule out",
        "differential diagnosis {of|includes|include|}",
        "to be considered",
        "{likely|most likely|more likely|less likely|unlikely|not likely} {to be |to represent |}",
        "{borderline|indeterminate|doubtful}",
        "{is |are |was |were |}{equivocal|questionable|indeterminate|inconclusive|suspicious|concerning} for",
        "differential {diagnoses|considerations|} {include|includes}",
    ],
    "both_unc": [
        "{versus|vs}",
        "{is|are|was|were} {unlikely|less likely|likely|more likely|most likely|probably} to {be|represent|reflect}",
    ],
    # "Atelectasis: none": negates what comes before the colon, but only when nothing follows it in
    # its clause ("Findings: no effusion" is an ordinary "no"); see negation.py
    "colon_neg": [
        "{:|-} {none|no|nil|absent|negative|not present|not seen|not identified|not detected|not evident}",
        "{:|-} none {seen|identified|detected|noted|present|evident}",
    ],
    "term": [
        "but",
        "however",
        "{although|though}",
        "except {for|}",
        "{apart|aside} from",
        "besides",
        "other than",
        "{whereas|while|yet|nevertheless|instead}",
        "in addition",
        "additionally",
        "on the other hand",
    ],
    "back_term": ["{of |}{which|whom|that|whose|where|who}"],
    "and": ["and"],
    "verb": [
        "{is|are|was|were|be|been|there}",
        "{observed|seen|detected|noted|found|identified|present|visualized|visible|shows|show|showed}",
        "{demonstrated|appears|appear|exists|exist|followed|monitored|selected}",
    ],
}

_CHOICE = re.compile(r"\{([^{}]*)\}")


def expand(template: str) -> list[str]:
    """Every phrase a template spells, lower-case, single-spaced."""
    parts = _CHOICE.split(template)
    # even indices are fixed text, odd indices are "a|b|" choices
    options = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(parts)]
    out = []
    for combo in itertools.product(*options):
        phrase = " ".join("".join(combo).split()).lower()
        if phrase:
            out.append(phrase)
    return list(dict.fromkeys(out))
