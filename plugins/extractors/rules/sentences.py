"""Sections and sentences of a radiology report, with character offsets into the report as stored.

Why a home-made splitter: the extractor must hand back offsets such that ``text[start:end]`` is the
quoted evidence, and radiology reports break general-purpose splitters in predictable ways —
decimals and dates (``3.5 mm``, ``26.03.2018``), numbered impressions (``1. Left effusion``),
hard-wrapped lines in the middle of a sentence, bullets (``•``), and CT-RATE's habit of separating
impression items with bare quote marks (``" Hiatal hernia " Emphysema``). Clause marks ``;`` and
``:`` also end a unit here, because negation never reaches across them in practice
(``When examined in the lung parenchyma window; Aeration ... is normal``) — except a colon that
only introduces a short answer (``Atelectasis: none.``), which stays with its finding.

Sections: a header (``FINDINGS:``, ``Impression``, ``Conclusion``, ``Clinical history:`` ...) at
the start of a line, alone on it or followed by a colon, opens a section that lasts until the
next header.
Text before any header is ``body`` (CT-RATE reports have no headers at all). Sections in
:data:`CONTEXT_SECTIONS` (history, indication, technique, comparison) describe why the scan was
done rather than what it shows, and the extractor does not label from them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import NamedTuple

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
# A header starts a line and is either alone on it or followed by a colon.
_HEADER = re.compile(rf"[ \t]*(?P<name>{_HEADER_WORDS})[ \t]*(?::|[ \t]*(?:\r?\n|$))", re.IGNORECASE)

# Where a unit ends. The pattern starts with one character class, so the engine skips through
# the text quickly to the few candidate characters; the conditions after it are checked only there.
# The full stop itself stays in its sentence (see split_report).
_BOUNDARY = re.compile(
    r"""
    [.!?;:"“”•·●▪■\n]
    (?:
        (?<=[.!?]) [.!?]*
        (?: (?=[\s"“”'•·]|$)                   # . ! ? before a space, a quote or the end,
          | (?<=[a-z)][.!?]) (?=[A-Z][a-z]) )   # or glued to the next sentence (lobe.There)
        (?<!\b(?i:dr)\.)(?<!\b(?i:vs)\.)(?<!\b(?i:approx)\.)(?<!\b(?i:fig)\.)(?<!\b(?i:nr)\.)
        (?<!\b(?i:e\.g)\.)(?<!\b(?i:i\.e)\.)
        (?!(?<=\b(?i:no)\.)\s*\d)             # ... but not after an abbreviation (no. 3)
      | (?<=[;:]) (?!(?<=\d.)\d)               # clause marks, not times or ratios (7:34, 1:2),
        (?!(?<=:)[ \t]*(?i:none(?:[ \t]+(?:seen|identified|detected|noted|present|evident))?|no|nil|absent|negative|
                            not[ \t]+(?:present|seen|identified|detected|evident))
           [ \t]*(?:[.;,)\n]|$))                # nor a short answer (Atelectasis: none.),
        (?!(?<=:)[ \t]*(?i:no|none|not|without)[ \t])  # nor one that denies (Lymph nodes: no enlarged nodes)
      | (?<=["“”•·●▪■])                        # quote marks (CT-RATE impression items), bullets
      | (?<=\n) (?=[ \t\r]*\n)                 # a blank line
      | (?<=\n) (?=[ \t]*(?:\d{1,2}[.)]|[-*])\s)   # a line that starts a list item
    )
    """,
    re.VERBOSE,
)
_TRIM = " \t\r\n\"“”'`*-"
_LETTER = re.compile(r"[^\W\d_]")


class Sentence(NamedTuple):
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


def _sections(text: str) -> list[tuple[int, int, str]]:
    """(content start, end, section name) for each section; ``body`` before any header.

    A context header with its text on the same line (``Comparison: CT dated 25.12.2019. Trachea
    ...`` — CT-RATE reports have no line breaks) covers only that first sentence; the report goes
    on in the section it was in.
    """
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"] if "\n" in text else [0]
    spans: list[tuple[int, int, str]] = []
    content, name = 0, "body"
    for pos in line_starts:
        m = _HEADER.match(text, pos)
        if m is None:
            continue
        spans.append((content, pos, name))
        header = _HEADERS[" ".join(m.group("name").lower().split())]
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end
        if header in CONTEXT_SECTIONS and text[m.end() : line_end].strip():
            stop = _BOUNDARY.search(text, m.end(), line_end)
            stop_at = stop.end() if stop else line_end
            spans.append((m.end(), stop_at, header))
            content = stop_at  # back to the section the header interrupted
        else:
            content, name = m.end(), header
    spans.append((content, len(text), name))
    return [s for s in spans if s[1] > s[0]]


def split_report(text: str) -> ReportLayout:
    """Split ``text`` into sentences tagged with their section; offsets index ``text`` itself."""
    sentences: list[Sentence] = []
    for content, sec_end, name in _sections(text):
        cursor = content
        for m in _BOUNDARY.finditer(text, content, sec_end):
            end = m.end() if text[m.start()] in ".!?" else m.start()
            _add(sentences, text, cursor, end, name)
            cursor = m.end()
        _add(sentences, text, cursor, sec_end, name)
    return ReportLayout(tuple(sentences), tuple(s.start for s in sentences))


def _add(out: list[Sentence], text: str, start: int, end: int, section: str) -> None:
    """Keep ``text[start:end]`` as a sentence, trimmed, if it has a letter (not just ``1.``)."""
    piece = text[start:end]
    if _LETTER.search(piece) is None:
        return
    head = piece.lstrip(_TRIM)
    start += len(piece) - len(head)
    out.append(Sentence(start, start + len(head.rstrip(_TRIM)), section))
