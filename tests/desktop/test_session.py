"""The Qt-free review session on a real phantom project: what each keystroke records in the store."""

from __future__ import annotations

import pytest

from radcurate.desktop.session import ReviewSession, SessionEvent
from radcurate.engine.project import Project
from radcurate.engine.vocabulary import LabelState
from tests.desktop.conftest import READER


@pytest.fixture
def session(phantom_project: Project) -> ReviewSession:
    s = ReviewSession(phantom_project, READER)
    s.refresh_worklist()
    s.open_case(s.worklist[0].study_id)
    return s


def test_case_shows_one_row_per_finding_with_silver_source_and_evidence(session: ReviewSession) -> None:
    project = session.project
    assert [r.finding for r in session.rows] == list(project.vocabulary)
    silver = project.silver(session.study_id)
    assert {r.finding: r.silver_state for r in session.rows} == {f: label.state for f, label in silver.items()}
    assert {r.source for r in session.rows} == {"rules"}
    assert session.report_text == project.report(session.study_id).text
    # the first selected row is the first finding the report calls present or uncertain
    first = session.selected_row
    assert first is not None and first.silver_state in (LabelState.PRESENT, LabelState.UNCERTAIN)
    assert all(
        r.silver_state not in (LabelState.PRESENT, LabelState.UNCERTAIN) for r in session.rows[: session.selected]
    )


def test_decide_is_committed_before_the_session_shows_it(session: ReviewSession) -> None:
    project = session.project
    seen: list[tuple[int, bool]] = []

    def on_event(event: SessionEvent) -> None:
        if event.kind == "saved":
            stored = {d.id for d in project.history(session.study_id)}
            seen.extend((d.id, d.id in stored) for d in event.decisions)

    session.subscribe(on_event)
    session.select(3)
    decision = session.decide(LabelState.UNCERTAIN)
    assert decision is not None and decision.reader == READER and decision.state == LabelState.UNCERTAIN
    assert seen == [(decision.id, True)]
    assert session.rows[3].decision == LabelState.UNCERTAIN and session.rows[3].decision_id == decision.id
    assert project.gold(session.study_id, reader=READER) == {session.rows[3].finding: LabelState.UNCERTAIN}


def test_confirm_records_the_shown_state_of_every_undecided_finding_then_moves_on(session: ReviewSession) -> None:
    project = session.project
    study = session.study_id
    session.select(0)
    session.decide(LabelState.PRESENT)  # one correction first
    corrected = session.rows[0].finding
    made = session.confirm_case()
    assert len(made) == len(project.vocabulary) - 1
    assert {d.kind for d in made} == {"confirm"} and len({d.action for d in made}) == 1
    gold = project.gold(study, reader=READER)
    silver = project.silver(study)
    assert gold[corrected] == LabelState.PRESENT
    assert {f: s for f, s in gold.items() if f != corrected} == {
        f: label.state for f, label in silver.items() if f != corrected
    }
    assert session.study_id != study  # moved to the next case
    assert session.entry(study).status == "done"
    assert session.confirm_case(advance=False) and session.confirm_case(advance=False) == []


def test_undo_after_confirm_returns_to_that_case_and_reverts_it_in_the_audit_trail(session: ReviewSession) -> None:
    project = session.project
    study = session.study_id
    session.confirm_case()
    assert session.study_id != study
    undone = session.undo()
    assert session.study_id == study
    assert len(undone) == len(project.vocabulary) and {d.kind for d in undone} == {"undo"}
    assert project.gold(study, reader=READER) == {}
    assert all(r.decision is None for r in session.rows)
    trail = project.history(study)
    assert [d.kind for d in trail].count("confirm") == len(project.vocabulary)
    assert [d.kind for d in trail].count("undo") == len(project.vocabulary)
    assert session.entry(study).status == "unreviewed"


def test_undo_of_one_decision_restores_the_previous_state_and_selects_it(session: ReviewSession) -> None:
    project = session.project
    session.select(5)
    first = session.decide("absent")
    session.select(9)
    second = session.decide("present")
    session.select(5)
    third = session.decide("uncertain")
    session.select(0)
    undone = session.undo()
    assert [d.undoes for d in undone] == [third.id]
    assert session.selected == 5 and session.rows[5].decision == LabelState.ABSENT
    assert project.gold(session.study_id, reader=READER) == {
        first.finding: LabelState.ABSENT,
        second.finding: LabelState.PRESENT,
    }


def test_moving_between_findings_and_cases(session: ReviewSession) -> None:
    n = len(session.rows)
    session.select(0)
    session.move(-1)
    assert session.selected == 0
    session.move(+100)
    assert session.selected == n - 1
    session.select_finding("Pleural effusion")
    assert session.selected_row.finding == "Pleural effusion"
    ids = [e.study_id for e in session.worklist]
    assert session.study_id == ids[0]
    assert session.next_case() and session.study_id == ids[1]
    assert session.previous_case() and session.study_id == ids[0]
    assert not session.previous_case() and session.study_id == ids[0]
    assert session.upcoming_study() == ids[1]


def test_status_filter_and_counts(session: ReviewSession) -> None:
    ids = [e.study_id for e in session.worklist]
    session.confirm_case()  # first case done, now on the second
    assert session.counts() == {"unreviewed": len(ids) - 1, "in_progress": 0, "done": 1, "total": len(ids)}
    session.set_status_filter(["done"])
    assert [e.study_id for e in session.visible()] == [ids[0]]
    session.set_status_filter(["unreviewed", "in_progress"])
    session.open_case(ids[0])
    assert session.next_case() and session.study_id == ids[1]
    # a fresh session reads the same statuses back from the store
    again = ReviewSession(session.project, READER)
    assert [e.status for e in again.refresh_worklist()][:2] == ["done", "unreviewed"]


def test_a_case_without_silver_labels_is_not_confirmed_blindly(phantom_project: Project) -> None:
    from tests.conftest import add_studies

    add_studies(phantom_project, {"no_labels": "FINDINGS: Small right pleural effusion."})
    session = ReviewSession(phantom_project, READER)
    session.refresh_worklist()
    messages: list[str] = []
    session.subscribe(lambda e: messages.append(e.message) if e.kind == "message" else None)
    session.open_case("no_labels")
    assert session.confirm_case() == []
    assert session.study_id == "no_labels"
    assert phantom_project.history("no_labels") == []
    assert "have no silver label" in messages[-1]


def test_reader_name_is_required(phantom_project: Project) -> None:
    with pytest.raises(ValueError):
        ReviewSession(phantom_project, "  ")
