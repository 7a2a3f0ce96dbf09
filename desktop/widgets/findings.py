"""The findings dock: one row per finding with the silver label, the model score, the reader's decision.

The selected row is the session's selected finding (arrow keys or the finding's letter, shown in
the first column, move it; a click moves it too) and
drives the report highlight. The decision column only ever shows what the store returned after
its COMMIT (the session updates rows after ``Project.decide`` returns), marked ✓ with its id.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt
from qtpy.QtGui import QBrush, QColor, QFont
from qtpy.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from radcurate.desktop.session import FindingRow, ReviewSession, SessionEvent
from radcurate.desktop.widgets.tables import row_table
from radcurate.engine.vocabulary import LabelState

COLUMNS = ("key", "finding", "silver", "score", "your decision", "others")
SCORE_HELP = (
    "The model's score for the finding (0–1). Empty until a model has scored this study "
    "(radcurate train, then score); hidden on a finding until you decide it (a blind read)."
)
OTHERS_HELP = "Other readers' decisions on this finding, shown once you have decided it (a blind read)."
STATE_TEXT = {
    LabelState.PRESENT: "present",
    LabelState.ABSENT: "absent",
    LabelState.UNCERTAIN: "uncertain",
    LabelState.NOT_MENTIONED: "not mentioned",
}
STATE_COLOUR = {
    LabelState.PRESENT: "#ef6c6c",
    LabelState.ABSENT: "#6fbf73",
    LabelState.UNCERTAIN: "#f6b73c",
    LabelState.NOT_MENTIONED: "#9aa0a6",
}


def silver_text(row: FindingRow, *, with_source: bool = True) -> str:
    if row.silver is None:
        return "—"
    text = STATE_TEXT[row.silver.state]
    if row.source and with_source:
        text += f" ({row.source})"
    if row.silver.flags:
        text += " ⚠"
    return text


def decision_text(row: FindingRow) -> str:
    if row.decision is None:
        return "—"
    changed = "" if row.decision == row.silver_state else " ✎"
    return f"✓ {STATE_TEXT[row.decision]}{changed}"


def others_text(row: FindingRow) -> str:
    """Other readers' calls once you decided: "agree 2" when all match yours, else each differing one."""
    if row.decision is None or not row.others:
        return ""
    differ = {r: s for r, s in row.others.items() if s != row.decision}
    if not differ:
        return f"agree {len(row.others)}"
    return ", ".join(f"{r}: {STATE_TEXT[s]}" for r, s in differ.items())


class FindingsModel(QAbstractTableModel):
    def __init__(self, session: ReviewSession, letters: dict[str, str] | None = None):
        super().__init__()
        self.session = session
        self.letters = letters or {}

    def reload(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def decisions_changed(self) -> None:
        """Only the decision columns changed (yours, the score now unblinded, others): repaint them."""
        if self.session.rows:
            first = COLUMNS.index("score")
            self.dataChanged.emit(self.index(0, first), self.index(len(self.session.rows) - 1, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self.session.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def one_source(self) -> str | None:
        """The label source when every labelled row has the same one (then the header names it)."""
        sources = {r.source for r in self.session.rows if r.silver is not None}
        return sources.pop() if len(sources) == 1 else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            source = self.one_source() if COLUMNS[section] == "silver" else None
            return f"silver ({source})" if source else COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return {"score": SCORE_HELP, "others": OTHERS_HELP}.get(COLUMNS[section])
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.session.rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "key":
                return self.letters.get(row.finding, "")
            if column == "finding":
                return row.finding
            if column == "silver":
                return silver_text(row, with_source=self.one_source() is None)
            if column == "score":
                if row.score is None:
                    return "—"
                return f"{row.score:.2f}" if row.decision is not None else "·"  # blind until decided
            if column == "others":
                return others_text(row)
            return decision_text(row)
        if role == Qt.ItemDataRole.ForegroundRole:
            state = {"silver": row.silver_state, "your decision": row.decision}.get(column)
            if state is not None:
                return QBrush(QColor(STATE_COLOUR[state]))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "key":
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.FontRole and column == "your decision" and row.decision is not None:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == "finding":
                return row.finding
            if column == "silver" and row.silver is not None and row.silver.evidence:
                return f"evidence: “{row.silver.evidence}”"
            if column == "your decision" and row.decision_id is not None:
                return f"saved as decision #{row.decision_id}"
            if column == "score":
                return SCORE_HELP
            if column == "others" and row.others:
                return "\n".join(f"{r}: {STATE_TEXT[s]}" for r, s in row.others.items())
        return None


class FindingsWidget(QWidget):
    """The findings table; its selection follows the session and a click selects a finding."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None, *, letters: dict[str, str] | None = None):
        super().__init__(parent)
        self.session = session
        self.model = FindingsModel(session, letters)
        self.table = row_table(self.model, stretch_column=COLUMNS.index("finding"))
        self.table.clicked.connect(lambda index: session.select(index.row()))
        self.summary = QLabel()
        self.note = QLineEdit()  # Ctrl+N: a one-line note saved with the selected finding's decision
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.summary)
        session.subscribe(self._on_session)
        self.refresh()

    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "case":
            self.refresh()
        elif event.kind == "rows":
            self.model.decisions_changed()
            self._summarise()
        elif event.kind == "selection":
            self._select()

    def open_note(self, finding: str) -> None:
        self.note.clear()
        self.note.setPlaceholderText(f"note on {finding} — Enter saves it with the decision, Escape cancels")
        self.note.show()
        self.note.setFocus()

    def close_note(self) -> None:
        self.note.hide()
        self.note.clear()

    def refresh(self) -> None:
        self.model.reload()
        self._summarise()
        self._select()

    def _summarise(self) -> None:
        rows = self.session.rows
        decided = sum(r.decision is not None for r in rows)
        changed = sum(r.decision is not None and r.decision != r.silver_state for r in rows)
        self.summary.setText(
            f"{decided}/{len(rows)} decided · {changed} changed from silver" if rows else "no case open"
        )

    def _select(self) -> None:
        if self.session.rows:
            self.table.selectRow(self.session.selected)
            self.table.scrollTo(self.model.index(self.session.selected, 0))
