"""The docks, offscreen: worklist, report highlight, findings table, triage state, jobs."""

from __future__ import annotations

import json
import time

from radcurate.desktop.viewer.keys import finding_keys
from radcurate.desktop.widgets.findings import COLUMNS, decision_text
from radcurate.desktop.widgets.jobs import JobsWidget, training_available
from radcurate.desktop.widgets.report import evidence_span
from radcurate.desktop.widgets.triage import NO_BUNDLE, TriageWidget
from radcurate.engine.vocabulary import LabelState
from tests.desktop.conftest import READER, press


def test_worklist_counts_filter_and_click(review_app, qtbot) -> None:  # noqa: ANN001
    widget, session = review_app.worklist, review_app.session
    n = len(session.worklist)
    assert widget.model.rowCount() == n
    assert widget.counts.text() == f"{n} studies · {n} unreviewed · 0 in progress · 0 done"
    assert "import order" in widget.order.text()
    press(review_app.viewer, "P")  # first case in progress
    assert widget.counts.text() == f"{n} studies · {n - 1} unreviewed · 1 in progress · 0 done"
    assert widget.model.data(widget.model.index(0, 1)) == "in progress"
    widget.filter.setCurrentIndex(3)  # in progress only
    assert [e.study_id for e in widget.model.entries] == [session.worklist[0].study_id]
    widget.filter.setCurrentIndex(0)
    target = widget.model.entries[3].study_id
    rect = widget.table.visualRect(widget.model.index(3, 0))
    from qtpy.QtCore import Qt

    qtbot.mouseClick(widget.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert session.study_id == target


def test_report_highlights_the_selected_findings_evidence(review_app) -> None:  # noqa: ANN001
    session, report = review_app.session, review_app.report
    assert report.text.toPlainText() == session.report_text
    with_quote = [i for i, r in enumerate(session.rows) if r.silver is not None and r.silver.evidence]
    assert with_quote, "the rule extractor gives evidence quotes"
    for i in with_quote[:4]:
        session.select(i)
        row = session.rows[i]
        span = evidence_span(session.report_text, row)
        assert span == (row.silver.start, row.silver.end)
        selections = report.text.extraSelections()
        strong = [s for s in selections if s.format.background().color().name() == "#ffd54f"]
        assert len(strong) == 1
        assert (strong[0].cursor.selectionStart(), strong[0].cursor.selectionEnd()) == span
        assert strong[0].cursor.selectedText() == row.silver.evidence
        assert report.text.textCursor().position() == span[0]  # scrolled to the quote
        assert f"{span[0]}–{span[1]}" in report.quote.text()


def test_findings_table_shows_silver_source_score_and_saved_decision(review_app) -> None:  # noqa: ANN001
    from qtpy.QtCore import Qt

    widget, session = review_app.findings, review_app.session
    model = widget.model
    assert model.rowCount() == len(session.rows) and model.columnCount() == len(COLUMNS)
    first = session.selected
    assert widget.table.selectionModel().selectedRows()[0].row() == first
    assert (
        model.data(model.index(first, 0))
        == finding_keys(list(review_app.project.vocabulary))[session.rows[first].finding]
    )
    assert model.headerData(2, Qt.Orientation.Horizontal) == "silver (rules)"  # one source: named once
    assert model.data(model.index(first, 2)) in ("present", "uncertain")
    assert model.data(model.index(first, 3)) == "—"  # no model scores yet
    assert model.data(model.index(first, 4)) == "—"
    press(review_app.viewer, "Down")
    assert widget.table.selectionModel().selectedRows()[0].row() == first + 1
    press(review_app.viewer, "U")
    row = session.rows[first + 1]
    assert model.data(model.index(first + 1, 4)) == decision_text(row)
    assert decision_text(row).startswith("✓ uncertain")
    saved = review_app.project.gold(session.study_id, reader=READER)
    assert saved == {row.finding: LabelState.UNCERTAIN}
    assert "1/18 decided" in widget.summary.text()


def test_triage_says_no_bundle_yet_then_finds_one(review_app) -> None:  # noqa: ANN001
    triage = review_app.triage
    assert not triage.has_bundle and triage.state.text() == NO_BUNDLE
    assert triage.question.isHidden()
    bundle = review_app.project.path / "exports" / "bundle_v1"
    bundle.mkdir(parents=True)
    (bundle / "manifest.json").write_text(json.dumps({"model_version": "v1"}))
    triage.refresh()
    assert triage.has_bundle and triage.bundles.currentText() == "bundle_v1"
    if not callable(getattr(review_app.project, "triage", None)):
        assert "no triage runtime" in triage.state.text()
        assert not triage.question.isEnabled()


def test_jobs_dock_lists_progress_and_cancels_off_the_ui_thread(phantom_project, qtbot) -> None:  # noqa: ANN001
    from radcurate.engine.jobs import records as jobs

    job = jobs.start_job(phantom_project.db, "extract", {"extractor": "rules"})  # claimed by this process
    jobs.update(phantom_project.db, job.id, progress=3, total=10, message="3 reports")
    widget = JobsWidget(phantom_project, poll=False)
    qtbot.addWidget(widget)
    widget.poll()
    qtbot.waitUntil(lambda: widget.table.rowCount() == len(phantom_project.jobs()), timeout=5000)
    ids = [widget.table.item(r, 0).text() for r in range(widget.table.rowCount())]
    row = ids.index(f"#{job.id}")
    bar = widget.table.cellWidget(row, 3)
    assert (bar.value(), bar.maximum()) == (3, 10)
    assert widget.table.item(row, 2).text() == "running"
    widget.table.selectRow(row)
    assert widget.cancel.isEnabled()
    widget.cancel.click()
    assert phantom_project.job(job.id).cancel_requested
    qtbot.waitUntil(lambda: "cancelling" in widget.table.item(row, 2).text(), timeout=5000)
    assert not widget.cancel.isEnabled()
    can_train, why = training_available()
    assert widget.retrain.isEnabled() == can_train and widget.retrain.toolTip() == why
    widget.stop()


def test_jobs_poll_does_not_block_the_ui_thread(phantom_project, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """A slow ``Project.jobs()`` (a busy disk) runs in a worker; the event loop keeps turning."""
    slow = phantom_project.jobs

    def slow_jobs():  # noqa: ANN202
        time.sleep(0.5)
        return slow()

    monkeypatch.setattr(phantom_project, "jobs", slow_jobs)
    widget = JobsWidget(phantom_project, poll=False)
    qtbot.addWidget(widget)
    started = time.perf_counter()
    widget.poll()
    assert time.perf_counter() - started < 0.2
    qtbot.waitUntil(lambda: widget._worker is None, timeout=5000)
    widget.stop()


def test_triage_widget_stands_alone(phantom_project, qtbot) -> None:  # noqa: ANN001
    from radcurate.desktop.session import ReviewSession

    session = ReviewSession(phantom_project, READER)
    widget = TriageWidget(session)
    qtbot.addWidget(widget)
    assert widget.state.text() == NO_BUNDLE


def test_retrain_says_where_training_can_run_without_torch(monkeypatch) -> None:  # noqa: ANN001
    """A core install is told which extra to add; the bundle (no pip) where training runs instead."""
    import importlib.util
    import sys

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    can_train, why = training_available()
    assert not can_train and "pip install 'radcurate[train]'" in why
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    can_train, why = training_available()
    assert not can_train and "bundle has no torch" in why and "radcurate train DIR" in why and "pip" not in why
