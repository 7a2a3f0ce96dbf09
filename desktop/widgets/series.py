"""The series picker: which of the study's series is on the canvas (description, kernel, thickness).

A study can hold several series (thin lung kernel, soft-tissue kernel, contrast phases). The
picker lists them as the store has them, main series first; choosing one loads it through the
prefetcher like a case switch (the canvas says "loading" and decisions wait), and the decisions
made afterwards are stamped with that series.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from radcurate.desktop.session import ReviewSession, SessionEvent
from radcurate.desktop.viewer.prefetch import series_label


class SeriesPicker(QWidget):
    """A label and a combo box of the open case's series; ``choose(series_id)`` shows one."""

    def __init__(self, session: ReviewSession, choose: Callable[[str], Any], parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.choose = choose
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(20)
        self.combo.activated.connect(self._activated)
        self.caption = QLabel("series")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.combo, 1)
        self.ids: list[str] = []
        session.subscribe(self._on_session)

    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "case":
            self.fill()

    def fill(self) -> None:
        """List the open case's series (the picker is off when there is only one)."""
        study = self.session.study_id
        records = self.session.project.series(study) if study else []
        self.ids = [r.id for r in records]
        self.combo.blockSignals(True)
        self.combo.clear()
        for record in records:
            label = series_label(record)
            self.combo.addItem(label, record.id)
            self.combo.setItemData(self.combo.count() - 1, f"{label}\n{record.id}", 3)  # ToolTipRole
        self.combo.blockSignals(False)
        self.caption.setText(f"series ({len(records)})" if len(records) > 1 else "series")
        self.combo.setEnabled(len(records) > 1)
        if not records:
            self.combo.addItem("no image series")

    def show_case(self, series_id: str | None) -> None:
        """Point the combo at the series now on screen."""
        if series_id in self.ids:
            self.combo.setCurrentIndex(self.ids.index(series_id))

    def _activated(self, index: int) -> None:
        if 0 <= index < len(self.ids):
            self.choose(self.ids[index])
