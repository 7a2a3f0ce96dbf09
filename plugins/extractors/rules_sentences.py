"""Sections and sentences of a radiology report, with character offsets into the report as stored.

Why a home-made splitter: the extractor must hand back offsets such that ``text[start:end]`` is the
quoted evidence, and radiology reports break general-purpose splitters in predictable ways —
decimals and dates (``3.5 mm``, ``26.03.2018``), numbered impressions (``1. Left effusion``),
hard-wrapped lines in the middle of a sentence, bullets (``•``), and CT-RATE's habit of separating
impression items with bare quote marks (``" Hiatal hernia " Emphysema``). Clause marks ``;`` and
``:`` also end a unit here, because negation never reaches across them in practice
(``When examined in the lung parenchyma window; Aeration ... is normal``).

Sections: a header (``FINDINGS:``, ``Impression``, ``Conclusion``, ``Clinical history:`` ...) at
the start of a line, or inline before a colon, opens a section that lasts until the next header.
Text before any header is ``body`` (CT-RATE reports have no headers at all). Sections in
:data:`CONTEXT_SECTIONS` (history, indication, technique, comparison) describe why the scan was
done rather than what it shows, and the extractor does not label from them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

#: Section names a header maps to; the key is the header text, lower-cased.
_HEADERS: dict[str, str] = {
    "findings": "findings",
    "finding": "findings",
    "report": "findings",
    "description": "findings",
    "impression": "impression",
    "impressions": "impression",
    "conclusion": "impression",
    "conclusions": "impression",
    "result": "impression",
    "results": "impression",
    "opinion": "impression",
    "summary": "impression",
    "diagnosis": "impression",
    "assessment": "impression",
    "history": "history",
    "clinical history": "history",
    "clinical information": "history",
    "clinical info": "history",
    "clinical data": "history",
    "clinical details": "history",
    "indication": "history",
    "indications": "history",
    "reason for exam": "history",
    "reason for examination": "history",
    "reason for study": "history",
    "technique": "technique",
    "procedure": "technique",
    "protocol": "technique",
    "examination": "technique",
    "exam": "technique",
    "comparison": "comparison",
    "comparisons": "comparison",
    "prior studies": "comparison",
}

#: Sections that give the reason for or the method of the scan; they are not read for labels.
CONTEXT_SECTIONS: frozenset[str] = frozenset({"history", "technique", "comparison"})

_HEADER_WORDS = "|".join(sorted((re.escape(h).replace(r"\ ", r"\s+") for h in _HEADERS), key=len, reverse=True))
# A header: at the start of a line (or of the text), either alone on its line or followed by a colon.
_HEADER = re.compile(
    rf"(?im)(?:^|(?<=\n))[ \t]*(?P<name>{_HEADER_WORDS})[ \t]*(?::|[ \t]*$)",
)

# Where one unit ends and the next begins. Each alternative consumes the separator itself, so the
# text between two matches is one sentence (trimmed of spaces and stray quote marks afterwards).
_BOUNDARY = re.compile(
    r"""
      (?<!\b[Dd]r)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bapprox)
      [.!?]+(?=[\s"“”'•·]|$)         # full stop followed by a space, a quote or the end
    | (?<!\d)[;:](?!\d)               # clause marks (not times like 7:34)
    | ["“”]                           # CT-RATE impression items are separated by quote marks
    | [•·●▪■]                         # bullets
    | \n[ \t]*\n                      # a blank line
    | \n(?=[ \t]*(?:\d{1,2}[.)]\s|[-*]\s))   # a line that starts a numbered or dashed list item
    """,
    re.VERBOSE,
)
_LIST_MARKER = re.compile(r"(?:\d{1,2}[.)]|[-*])\s+")
_TRIM = " \t\r\n\"“”'`"


@dataclass(frozen=True)
class Sentence:
    """One unit of report text: ``text[start:end]`` is the sentence, trimmed of spaces and quotes."""

    start: int
    end: int
    section: str


@dataclass(frozen=True)
class ReportLayout:
    """A report split into sentences, with a fast lookup from a character offset to its sentence."""

    sentences: tuple[Sentence, ...]
    _starts: tuple[int, ...]

    def sentence_at(self, offset: int) -> int | None:
        """Index of the sentence containing ``offset``, or None (separator or header text)."""
        i = bisect_right(self._starts, offset) - 1
        if i >= 0 and offset < self.sentences[i].end:
            return i
        return None


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    marker = _LIST_MARKER.match(text, start, end)
    if marker and marker.end() < end:
        start = marker.end()
    return start, end


def _sections(text: str) -> list[tuple[int, int, str, int]]:
    """(start, end, section name, content start) for each section; ``body`` before any header."""
    found = [(m.start(), m.end(), _HEADERS[re.sub(r"\s+", " ", m.group("name").lower())]) for m in _HEADER.finditer(text)]
    spans: list[tuple[int, int, str, int]] = []
    cursor, name, content = 0, "body", 0
    for head_start, head_end, head_name in found:
        if head_start > content:
            spans.append((cursor, head_start, name, content))
        cursor, name, content = head_start, head_name, head_end
    spans.append((cursor, len(text), name, content))
    return spans


def split_report(text: str) -> ReportLayout:
    """Split ``text`` into sentences tagged with their section; offsets index ``text`` itself."""
    sentences: list[Sentence] = []
    for _, sec_end, name, content in _sections(text):
        cursor = content
        for m in _BOUNDARY.finditer(text, content, sec_end):
            # keep the full stop inside the sentence so a quote reads naturally
            end = m.start() + (1 if text[m.start()] in ".!?" else 0)
            _add(sentences, text, cursor, end, name)
            cursor = m.end()
        _add(sentences, text, cursor, sec_end, name)
    return ReportLayout(tuple(sentences), tuple(s.start for s in sentences))


def _add(out: list[Sentence], text: str, start: int, end: int, section: str) -> None:
    start, end = _trimmed(text, start, end)
    if end > start and any(ch.isalnum() for ch in text[start:end]):
        out.append(Sentence(start, end, section))
