"""The look shared by the dock tables: whole rows, one at a time, no keyboard focus.

The keys belong to the image canvas (desktop/keys.py), so a table never takes focus; one column
stretches and the rest fit their contents, so the worklist and the findings table read alike.
"""

from __future__ import annotations

from qtpy.QtCore import QAbstractItemModel, Qt
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableView

ROW_HEIGHT = 22


def row_table(model: QAbstractItemModel, *, stretch_column: int) -> QTableView:
    """A read-only table of ``model`` that selects single rows and leaves the keys to the canvas."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the image canvas
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    header = table.horizontalHeader()
    for column in range(model.columnCount()):
        fit = QHeaderView.ResizeMode.Stretch if column == stretch_column else QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(column, fit)
    return table
