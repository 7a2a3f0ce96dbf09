"""The findings dock: one row per finding with the silver label, the model score, the reader's decision.

The selected row is the session's selected finding (arrow keys or the finding's letter, shown in
the first column, move it; a click moves it too) and
drives the report highlight. The decision column only ever shows what the store returned after
its COMMIT (the session updates rows after ``Project.decide`` returns), marked ✓ with its id.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel
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


def _cells(row: FindingRow, letter: str, one_source: str | None) -> list[dict[int, Any]]:
    """What each column of ``row`` shows, by Qt role (display text, colour, font, tooltip)."""
    display, fore, tip = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole
    if row.score is None:
        score = "—"
    else:
        score = f"{row.score:.2f}" if row.decision is not None else "·"  # blind until decided
    cells: list[dict[int, Any]] = [
        {display: letter, Qt.ItemDataRole.TextAlignmentRole: int(Qt.AlignmentFlag.AlignCenter)},
        {display: row.finding, tip: row.finding},
        {display: silver_text(row, with_source=one_source is None)},
        {display: score, tip: SCORE_HELP},
        {display: decision_text(row)},
        {display: others_text(row)},
    ]
    if row.silver_state is not None:
        cells[2][fore] = STATE_COLOUR[row.silver_state]
    if row.silver is not None and row.silver.evidence:
        cells[2][tip] = f"evidence: “{row.silver.evidence}”"
    if row.decision is not None:
        cells[4][fore] = STATE_COLOUR[row.decision]
        cells[4][Qt.ItemDataRole.FontRole] = "bold"
    if row.decision_id is not None:
        cells[4][tip] = f"saved as decision #{row.decision_id}"
    if row.others:
        cells[5][tip] = "\n".join(f"{r}: {STATE_TEXT[s]}" for r, s in row.others.items())
    return cells


class FindingsModel(QStandardItemModel):
    """The findings table's cells, held by Qt (C++): painting and the header's fit-to-contents ask
    Qt's items, never Python, so a repaint costs no Python call per cell. A case switch or a
    decision sets only the cells whose text, colour or tooltip changed."""

    def __init__(self, session: ReviewSession, letters: dict[str, str] | None = None):
        super().__init__(0, len(COLUMNS))
        self.session = session
        self.letters = letters or {}
        self._shown: list[list[dict[int, Any]]] = []  # what each item holds now, by role
        self._source: str | None | bool = False  # the silver source named in the header
        for column, name in enumerate(COLUMNS):
            header = QStandardItem(name)
            tip = {"score": SCORE_HELP, "others": OTHERS_HELP}.get(name)
            if tip:
                header.setToolTip(tip)
            self.setHorizontalHeaderItem(column, header)
        self._bold = QFont()
        self._bold.setBold(True)

    def reload(self) -> None:
        """A new case: every row's cells (only those that differ from the last case are set)."""
        rows = self.session.rows
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
            self._shown = [[{} for _ in COLUMNS] for _ in rows]
            for r in range(len(rows)):
                for c in range(len(COLUMNS)):
                    item = QStandardItem()
                    item.setEditable(False)
                    self.setItem(r, c, item)
        source = self.one_source()
        if source != self._source:
            self._source = source
            self.horizontalHeaderItem(COLUMNS.index("silver")).setText(f"silver ({source})" if source else "silver")
        self._fill(range(len(rows)), source)

    def decisions_changed(self) -> None:
        """Decisions were saved: refresh the cells they change (yours, the score now unblinded, others)."""
        self._fill(range(len(self.session.rows)), self._source or None)

    def _fill(self, indexes: range, source: str | None) -> None:
        """Set the cells that changed with the model's signals held, then tell the view once:
        one ``dataChanged`` per item would re-lay out the table up to a hundred times."""
        rows = self.session.rows
        changed: list[tuple[int, int]] = []
        self.blockSignals(True)
        try:
            for r in indexes:
                row = rows[r]
                for c, cell in enumerate(_cells(row, self.letters.get(row.finding, ""), source)):
                    if cell != self._shown[r][c]:
                        self._set(self.item(r, c), self._shown[r][c], cell)
                        self._shown[r][c] = cell
                        changed.append((r, c))
        finally:
            self.blockSignals(False)
        if changed:
            top, bottom = min(r for r, _ in changed), max(r for r, _ in changed)
            left, right = min(c for _, c in changed), max(c for _, c in changed)
            self.dataChanged.emit(self.index(top, left), self.index(bottom, right))

    def _set(self, item: QStandardItem, old: dict[int, Any], new: dict[int, Any]) -> None:
        for role in old.keys() | new.keys():
            value = new.get(role)
            if value == old.get(role):
                continue
            if role == Qt.ItemDataRole.ForegroundRole and value is not None:
                value = QBrush(QColor(value))
            elif role == Qt.ItemDataRole.FontRole and value is not None:
                value = self._bold
            item.setData(value, role)

    def one_source(self) -> str | None:
        """The label source when every labelled row has the same one (then the header names it)."""
        sources = {r.source for r in self.session.rows if r.silver is not None}
        return sources.pop() if len(sources) == 1 else None


class FindingsWidget(QWidget):
    """The findings table; its selection follows the session and a click selects a finding."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None, *, letters: dict[str, str] | None = None):
        super().__init__(parent)
        self.session = session
        self.model = FindingsModel(session, letters)
        self.table = row_table(self.model, stretch_column=COLUMNS.index("finding"))
        self.table.clicked.connect(lambda index: session.select(index.row()))
        self.summary = QLabel()
        self._flag = ""  # "⚑ flagged" while the reader's flag holds on the open case
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

    def show_flag(self, flagged: bool, note: str = "") -> None:
        """The reader's flag on the open case (Shift+F), in the summary line."""
        self._flag = (f"⚑ flagged: {note}" if note else "⚑ flagged") if flagged else ""
        self._summarise()

    def _summarise(self) -> None:
        rows = self.session.rows
        decided = sum(r.decision is not None for r in rows)
        changed = sum(r.decision is not None and r.decision != r.silver_state for r in rows)
        text = f"{decided}/{len(rows)} decided · {changed} changed from silver" if rows else "no case open"
        self.summary.setText(f"{text}   {self._flag}" if self._flag else text)

    def _select(self) -> None:
        """Select the session's finding (a case switch and its selection event ask twice: once is enough)."""
        if not self.session.rows:
            return
        current = self.table.selectionModel().selectedRows()
        if [i.row() for i in current] != [self.session.selected]:
            self.table.selectRow(self.session.selected)
        self.table.scrollTo(self.model.index(self.session.selected, 0))
