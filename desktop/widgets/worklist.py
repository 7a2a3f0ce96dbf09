"""The worklist dock: every study with the reader's status, a status filter, counts, priority order."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from radcurate.desktop.session import ReviewSession, SessionEvent
from radcurate.desktop.widgets.tables import row_table
from radcurate.engine.review.worklist import WorklistEntry

FILTERS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("all studies", None),
    ("to do (unreviewed + in progress)", ("unreviewed", "in_progress")),
    ("unreviewed", ("unreviewed",)),
    ("in progress", ("in_progress",)),
    ("done", ("done",)),
)
STATUS_LABEL = {"unreviewed": "unreviewed", "in_progress": "in progress", "done": "done"}
STATUS_COLOUR = {"unreviewed": "#9aa0a6", "in_progress": "#f6b73c", "done": "#5cc26b"}
COLUMNS = ("study", "status", "decided", "priority")


class WorklistModel(QAbstractTableModel):
    """The session's filtered worklist as a table that builds only the rows the view asks for.

    A 100k-study worklist is held by the session as a compact snapshot (study ids in order, their
    priorities, the reader's touched studies); this model keeps the filtered row indices and a
    small window of built entries, so opening, filtering and scrolling never build every row.
    """

    WINDOW = 512  # entries kept built (a few screens of rows)

    def __init__(self, session: ReviewSession):
        super().__init__()
        self.session = session
        self._rows: Sequence[int] = session.visible_rows()
        self._built: dict[int, WorklistEntry] = {}

    @property
    def entries(self) -> list[WorklistEntry]:
        """Every shown entry, in order (builds them all: for tests and small worklists)."""
        return [self.entry_at(row) for row in range(len(self._rows))]

    def entry_at(self, row: int) -> WorklistEntry:
        entry = self._built.get(row)
        if entry is None:
            if len(self._built) >= self.WINDOW:
                self._built.clear()
            entry = self._built[row] = self.session.worklist[self._rows[row]]
        return entry

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = self.session.visible_rows()
        self._built.clear()
        self.endResetModel()

    def row_of(self, study_id: str | None) -> int:
        index = self.session.worklist_index(study_id)
        if index < 0:
            return -1
        if isinstance(self._rows, range):
            return index if index < len(self._rows) else -1
        row = bisect_left(self._rows, index)  # the filtered indices are in ascending order
        return row if row < len(self._rows) and self._rows[row] == index else -1

    def update_entry(self, study_id: str | None) -> None:
        """One study changed (status, or became/stopped being the open case): repaint its row only."""
        row = self.row_of(study_id)
        if row < 0:
            return
        self._built.pop(row, None)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entry_at(index.row())
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "study":
                return entry.study_id
            if column == "status":
                return STATUS_LABEL.get(entry.status, entry.status)
            if column == "decided":
                return f"{entry.decided}/{entry.findings}"
            return "—" if entry.priority is None else f"{entry.priority:.2f}"
        if role == Qt.ItemDataRole.ToolTipRole and column == "study":
            return entry.study_id  # long ids are elided in the column
        if role == Qt.ItemDataRole.ForegroundRole and column == "status":
            return QBrush(QColor(STATUS_COLOUR.get(entry.status, "#cccccc")))
        if role == Qt.ItemDataRole.FontRole and entry.study_id == self.session.study_id:
            from qtpy.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        return None


#: The widest text each column but the study's can show: its width is set from these, not measured
#: over the rows (a header sized to its contents asks the model for a thousand rows on every change).
WIDEST = {"status": "in progress", "decided": "188/188", "priority": "10.00"}


def fixed_widths(table: QTableView) -> None:
    """Fixed widths for the short columns, so opening or refiltering 100k rows reads only those on screen."""
    header, metrics = table.horizontalHeader(), table.fontMetrics()
    short = [(column, name) for column, name in enumerate(COLUMNS) if name in WIDEST]
    for column, _ in short:  # every mode first: a resize with one column still fitted re-measures it
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
    for column, name in short:
        header.resizeSection(column, max(metrics.horizontalAdvance(w) for w in (WIDEST[name], name)) + 16)


class WorklistWidget(QWidget):
    """Filter, counts and the table; clicking a study opens it."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.filter = QComboBox()
        for label, _ in FILTERS:
            self.filter.addItem(label)
        self.filter.currentIndexChanged.connect(self._filter_changed)
        self.counts = QLabel()
        self.order = QLabel()
        self.order.setWordWrap(True)
        self.model = WorklistModel(session)
        self.table = row_table(self.model, stretch_column=0)
        fixed_widths(self.table)
        self.table.clicked.connect(self._clicked)
        top = QHBoxLayout()
        top.addWidget(QLabel("show"))
        top.addWidget(self.filter, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.counts)
        layout.addWidget(self.order)
        layout.addWidget(self.table, 1)
        self._shown: str | None = None
        session.subscribe(self._on_session)
        self.refresh()

    def _filter_changed(self, index: int) -> None:
        self.session.set_status_filter(FILTERS[index][1])

    def _clicked(self, index: QModelIndex) -> None:
        entry = self.model.entry_at(index.row())
        if entry.study_id != self.session.study_id:
            self.session.open_case(entry.study_id)

    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "worklist":
            self.refresh()
        elif event.kind == "entry":
            if self.session.status_filter is not None:
                self.refresh()  # the study may have left (or joined) the statuses shown
            else:
                self.model.update_entry(event.study_id)
                self._show_counts()
        elif event.kind == "case":  # cheap on a 100k-study worklist: two rows repainted
            previous, self._shown = self._shown, self.session.study_id
            self.model.update_entry(previous)
            self.model.update_entry(self._shown)
            self._select_current()

    def refresh(self) -> None:
        """Reload the whole table (after a reload or a filter change)."""
        self.model.reload()
        self._shown = self.session.study_id
        self._show_counts()
        self._select_current()

    def _show_counts(self) -> None:
        c = self.session.counts()
        self.counts.setText(
            f"{c['total']} studies · {c['unreviewed']} unreviewed · {c['in_progress']} in progress · {c['done']} done"
        )
        self.order.setText(
            "order: model ranking (likely silver-label errors first)"
            if self.session.ranked
            else "order: import order (no model scores yet)"
        )

    def _select_current(self) -> None:
        row = self.model.row_of(self.session.study_id)
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
