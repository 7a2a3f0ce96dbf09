"""The worklist dock: every study with the reader's status, a status filter, counts, priority order."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from radcurate.desktop.session import ReviewSession, SessionEvent
from radcurate.desktop.widgets.tables import row_table

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
    """The session's filtered worklist as a table (cheap to refresh: it only reads the session)."""

    def __init__(self, session: ReviewSession):
        super().__init__()
        self.session = session
        self.entries = session.visible()

    def reload(self) -> None:
        self.beginResetModel()
        self.entries = self.session.visible()
        self.endResetModel()

    def row_of(self, study_id: str | None) -> int:
        for row, entry in enumerate(self.entries):
            if entry.study_id == study_id:
                return row
        return -1

    def update_entry(self, study_id: str | None) -> None:
        """One study changed (status, or became/stopped being the open case): repaint its row only."""
        row = self.row_of(study_id)
        if row < 0:
            return
        entry = self.session.entry(study_id) if study_id else None
        if entry is not None:
            self.entries[row] = entry
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
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
        entry = self.model.entries[index.row()]
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
