"""Zero-shot prompt templates and the report sentences CLIP trains on.

A template is a pair of sentences about one finding, one stating it and one denying it
(``"There is {finding}." / "There is no {finding}."``); the zero-shot score of a finding is the
softmax over an image's similarity to the two (:mod:`~radcurate.engine.training.zero_shot`).
Templates are a setting, written ``"positive | negative"`` with ``{finding}`` (lower case) or
``{Finding}`` (sentence case) where the finding's name goes; at least three are used so that the
spread across templates can be reported beside the ensemble.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from radcurate.engine.errors import InputError


@dataclass(frozen=True)
class PromptTemplate:
    """One positive/negative phrasing; ``{finding}``/``{Finding}`` are replaced by the finding name."""

    positive: str
    negative: str

    def pair(self, finding: str) -> tuple[str, str]:
        """(positive, negative) sentences for ``finding`` (e.g. ``"Pleural effusion"``)."""
        low = finding[:1].lower() + finding[1:]
        cap = finding[:1].upper() + finding[1:]
        return (
            self.positive.format(finding=low, Finding=cap),
            self.negative.format(finding=low, Finding=cap),
        )

    def __str__(self) -> str:
        return f"{self.positive} | {self.negative}"


DEFAULT_TEMPLATES: tuple[PromptTemplate, ...] = (
    PromptTemplate("There is {finding}.", "There is no {finding}."),
    PromptTemplate("{Finding} is present.", "No {finding}."),
    PromptTemplate("Findings consistent with {finding}.", "No evidence of {finding}."),
    PromptTemplate("The scan shows {finding}.", "The scan shows no {finding}."),
)


def parse_template(text: str) -> PromptTemplate:
    """``"There is {finding}. | There is no {finding}."`` → :class:`PromptTemplate` (checked)."""
    parts = [p.strip() for p in text.split("|")]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"a prompt template is 'positive | negative', got {text!r}", field="templates")
    for part in parts:
        if "{finding}" not in part and "{Finding}" not in part:
            raise InputError(f"prompt {part!r} does not name the finding ({{finding}})", field="templates")
        try:
            part.format(finding="x", Finding="X")
        except (KeyError, IndexError, ValueError):
            raise InputError(f"prompt {part!r} may only use {{finding}} or {{Finding}}", field="templates") from None
    return PromptTemplate(parts[0], parts[1])


def parse_templates(texts: Iterable[str]) -> tuple[PromptTemplate, ...]:
    """Several templates; at least one (three for a meaningful template spread)."""
    templates = tuple(parse_template(t) for t in texts)
    if not templates:
        raise InputError("at least one prompt template is needed", field="templates")
    return templates


# --------------------------------------------------------------------------- report sentences
_HEADER = re.compile(r"^\s*(findings|impression|conclusion|technique)\s*:\s*", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*\d+[.)]\s+")
_SPLIT = re.compile(r"(?<=[.;!?])\s+|\n+")


def report_sentences(text: str, *, min_chars: int = 4) -> list[str]:
    """The sentences of a report: split at sentence ends and line breaks, headers and list numbers dropped.

    Deliberately simple (the rules extractor's sentence splitter handles the hard cases for labels);
    here a sentence is only a unit of text paired with the image.
    """
    out = []
    for piece in _SPLIT.split(text):
        piece = _NUMBER.sub("", _HEADER.sub("", piece)).strip()
        if len(piece) >= min_chars and any(ch.isalpha() for ch in piece):
            out.append(piece)
    return out


def all_prompts(findings: Sequence[str], templates: Sequence[PromptTemplate]) -> list[str]:
    """Every prompt sentence for ``findings`` × ``templates`` (to warm a frozen-embedding cache)."""
    return [text for finding in findings for template in templates for text in template.pair(finding)]
