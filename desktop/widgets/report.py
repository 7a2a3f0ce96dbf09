"""The report dock: the report text, the selected finding's evidence quote highlighted and in view.

Offsets come from the extractor (``SilverLabel.start/end`` index the stored text exactly); when a
label has a quote but no offsets, the quote is searched for (case-insensitive) as a fallback.
Other findings' quotes get a faint underline so the reader sees what the extractor read.
"""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtGui import QColor, QTextCharFormat, QTextCursor
from qtpy.QtWidgets import QLabel, QTextEdit, QVBoxLayout, QWidget

from radcurate.desktop.session import FindingRow, ReviewSession, SessionEvent

SELECTED_BACKGROUND = "#ffd54f"
SELECTED_FOREGROUND = "#000000"
OTHER_UNDERLINE = "#64b5f6"


def evidence_span(text: str, row: FindingRow | None) -> tuple[int, int] | None:
    """Where the row's evidence quote is in ``text`` (str indices), or None."""
    label = row.silver if row is not None else None
    if label is None or not label.evidence:
        return None
    if label.start is not None and label.end is not None and text[label.start : label.end] == label.evidence:
        return (label.start, label.end)
    found = text.casefold().find(label.evidence.casefold())
    return (found, found + len(label.evidence)) if found >= 0 else None


class ReportWidget(QWidget):
    """Read-only report text with evidence highlighting driven by the session's selected finding."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.title = QLabel()
        self.text = QTextEdit()
        self.text.setReadOnly(True)
        self.text.setAcceptRichText(False)
        self.text.setMinimumHeight(120)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the image canvas
        self.quote = QLabel()
        self.quote.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.quote)
        session.subscribe(self._on_session)
        self._show_case()

    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "case":
            self._show_case()
        elif event.kind == "selection":
            self.highlight()

    def _show_case(self) -> None:
        s = self.session
        self.title.setText(f"<b>{s.study_id}</b>" if s.study_id else "no case open")
        self.text.setPlainText(s.report_text or "(no report for this study)")
        self.highlight()

    def highlight(self) -> tuple[int, int] | None:
        """Highlight the selected finding's quote and scroll it into view; returns the span."""
        text = self.session.report_text
        selections = []
        selected = self.session.selected_row
        for row in self.session.rows:
            span = evidence_span(text, row)
            if span is None or row is selected:
                continue
            selections.append(self._selection(span, underline=True))
        span = evidence_span(text, selected)
        if span is not None:
            selections.append(self._selection(span, underline=False))
            cursor = QTextCursor(self.text.document())
            cursor.setPosition(span[1])
            self.text.setTextCursor(cursor)
            self.text.ensureCursorVisible()
            cursor.setPosition(span[0])
            self.text.setTextCursor(cursor)
            self.text.ensureCursorVisible()
        self.text.setExtraSelections(selections)
        self.quote.setText(self._quote_line(selected, span))
        return span

    def _selection(self, span: tuple[int, int], *, underline: bool) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        if underline:
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
            fmt.setUnderlineColor(QColor(OTHER_UNDERLINE))
        else:
            fmt.setBackground(QColor(SELECTED_BACKGROUND))
            fmt.setForeground(QColor(SELECTED_FOREGROUND))
        selection.format = fmt
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(span[0])
        cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        return selection

    @staticmethod
    def _quote_line(row: FindingRow | None, span: tuple[int, int] | None) -> str:
        if row is None:
            return ""
        if row.silver is None:
            return f"{row.finding}: no silver label"
        if span is None:
            what = "no evidence quote" if not row.silver.evidence else "quote not found in the report"
            return f"{row.finding}: {what}"
        flags = f" ⚠ {', '.join(row.silver.flags)}" if row.silver.flags else ""
        return f"{row.finding}: evidence at characters {span[0]}–{span[1]}{flags}"
