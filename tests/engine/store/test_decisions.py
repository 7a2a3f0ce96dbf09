"""Decisions: append-only audit trail, undo as new rows, gold view, clear errors."""

from __future__ import annotations

import sqlite3

import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.project import Project
from radcurate.engine.vocabulary import LabelState


def test_decision_records_reader_time_previous_state_and_note(project_with_studies: Project) -> None:
    p = project_with_studies
    first = p.decide("s1", "pleural effusion", "present", reader="dr_a", note="bilateral")
    second = p.decide("s1", "Pleural effusion", LabelState.UNCERTAIN, reader="dr_a")
    assert first.finding == "Pleural effusion" and first.previous_state is None and first.note == "bilateral"
    assert second.previous_state is LabelState.PRESENT and second.state is LabelState.UNCERTAIN
    assert second.decided_at >= first.decided_at
    assert p.gold("s1", reader="dr_a") == {"Pleural effusion": LabelState.UNCERTAIN}


def test_gold_is_per_reader(project_with_studies: Project) -> None:
    p = project_with_studies
    p.decide("s1", "Cardiomegaly", "present", reader="dr_a")
    p.decide("s1", "Cardiomegaly", "absent", reader="dr_b")
    assert p.gold("s1", reader="dr_a") == {"Cardiomegaly": LabelState.PRESENT}
    assert p.gold("s1", reader="dr_b") == {"Cardiomegaly": LabelState.ABSENT}


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE decisions SET state = 'absent'",
        "DELETE FROM decisions",
        "UPDATE decisions SET reader = 'someone else' WHERE id = 1",
    ],
)
def test_database_refuses_update_and_delete(project_with_studies: Project, sql: str) -> None:
    p = project_with_studies
    p.decide("s1", "Cardiomegaly", "present", reader="dr_a")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        p.db.execute(sql)
    assert len(p.history()) == 1


def test_undo_is_a_new_decision_and_steps_back_in_order(project_with_studies: Project) -> None:
    p = project_with_studies
    p.decide("s1", "Emphysema", "present", reader="dr_a")
    p.decide("s1", "Emphysema", "absent", reader="dr_a")
    undone = p.undo(reader="dr_a", study_id="s1")
    assert [d.kind for d in undone] == ["undo"] and undone[0].state is LabelState.PRESENT
    assert p.gold("s1", reader="dr_a") == {"Emphysema": LabelState.PRESENT}
    p.undo(reader="dr_a", study_id="s1")
    assert p.gold("s1", reader="dr_a") == {}
    assert p.undo(reader="dr_a", study_id="s1") == []
    trail = p.history("s1")
    assert [(d.kind, d.state.value if d.state else None) for d in trail] == [
        ("decide", "present"),
        ("decide", "absent"),
        ("undo", "present"),
        ("undo", None),
    ]


def test_confirm_records_only_undecided_findings_as_one_undoable_action(project_with_studies: Project) -> None:
    p = project_with_studies
    p.decide("s2", "Lung nodule", "present", reader="dr_a")
    shown = {f: LabelState.NOT_MENTIONED for f in p.vocabulary}
    confirmed = p.confirm("s2", shown, reader="dr_a")
    assert len(confirmed) == len(p.vocabulary) - 1
    assert {d.action for d in confirmed} == {confirmed[0].action}
    gold = p.gold("s2", reader="dr_a")
    assert gold["Lung nodule"] is LabelState.PRESENT and len(gold) == len(p.vocabulary)
    assert p.confirm("s2", shown, reader="dr_a") == []
    p.undo(reader="dr_a")
    assert p.gold("s2", reader="dr_a") == {"Lung nodule": LabelState.PRESENT}


def test_worklist_status_follows_decisions(project_with_studies: Project) -> None:
    p = project_with_studies
    p.decide("s2", "Lung nodule", "present", reader="dr_a")
    p.confirm("s3", {f: "absent" for f in p.vocabulary}, reader="dr_a")
    status = {e.study_id: e.status for e in p.worklist(reader="dr_a")}
    assert status == {"s1": "unreviewed", "s2": "in_progress", "s3": "done"}
    assert [e.study_id for e in p.worklist(reader="dr_b")] == ["s1", "s2", "s3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "Cardiomegaly", "present", "dr_a"), "no study 'nope'"),
        (("s1", "Pneumothorax", "present", "dr_a"), "unknown finding 'Pneumothorax'"),
        (("s1", "Cardiomegaly", "maybe", "dr_a"), "unknown label state 'maybe'"),
        (("s1", "Cardiomegaly", "present", "  "), "needs a reader"),
    ],
)
def test_bad_decisions_are_refused_with_a_clear_message(project_with_studies: Project, args, message) -> None:
    study, finding, state, reader = args
    with pytest.raises(InputError, match=message):
        project_with_studies.decide(study, finding, state, reader=reader)
    assert project_with_studies.history() == []


def test_decisions_survive_reopening(project_with_studies: Project) -> None:
    p = project_with_studies
    p.decide("s1", "Atelectasis", "uncertain", reader="dr_a")
    p.close()
    with Project.open(p.path) as again:
        assert again.gold("s1", reader="dr_a") == {"Atelectasis": LabelState.UNCERTAIN}
