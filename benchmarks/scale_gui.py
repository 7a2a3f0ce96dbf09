"""The desktop worklist opening on a big project, timed to its first paint (run by benchmarks/scale.py).

Run under a display (``xvfb-run``); prints one JSON line: seconds from the project opening to the
worklist table's first paint, split into the engine's snapshot read and the widget's build, plus
a scroll to the end and a filter change (each to their next paint).

Usage: ``QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/scale_gui.py PROJECT``.
"""

from __future__ import annotations

import json
import sys
import time

from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QApplication


class PaintWatch(QObject):
    """Notes when the watched widget paints."""

    def __init__(self) -> None:
        super().__init__()
        self.painted_at: float | None = None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint and self.painted_at is None:
            self.painted_at = time.perf_counter()
        return False

    def wait(self, app: QApplication, timeout: float = 30.0) -> float:
        self.painted_at = None
        deadline = time.perf_counter() + timeout
        while self.painted_at is None and time.perf_counter() < deadline:
            app.processEvents()
        return self.painted_at or float("nan")


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from radcurate.desktop.session import ReviewSession
    from radcurate.desktop.widgets.worklist import WorklistWidget
    from radcurate.engine.project import Project

    start = time.perf_counter()
    project = Project.open(sys.argv[1])
    session = ReviewSession(project, "dr_bench")
    session.refresh_worklist()
    read = time.perf_counter()
    widget = WorklistWidget(session)
    watch = PaintWatch()
    widget.table.viewport().installEventFilter(watch)
    widget.resize(420, 900)
    widget.show()
    painted = watch.wait(app)
    first = session.worklist[0].study_id if len(session.worklist) else None
    if first:
        session.open_case(first)
    scroll_start = time.perf_counter()
    widget.table.scrollToBottom()
    scrolled = watch.wait(app) - scroll_start
    filter_start = time.perf_counter()
    widget.filter.setCurrentIndex(1)  # to do (unreviewed + in progress)
    filtered = watch.wait(app) - filter_start
    built = len(widget.model._built)
    print(
        json.dumps(
            {
                "studies": len(session.worklist),
                "open_to_first_paint_s": painted - start,
                "snapshot_read_s": read - start,
                "widget_to_paint_s": painted - read,
                "scroll_to_end_s": scrolled,
                "filter_change_s": filtered,
                "entries_built": built,
            }
        )
    )
    project.close()


if __name__ == "__main__":
    main()
