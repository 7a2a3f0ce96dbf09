"""The project's gold from several readers: adjudicated, else agreed, else unresolved (never guessed)."""

from __future__ import annotations

from radcurate.engine.project import Project
from radcurate.engine.review import consensus
from radcurate.engine.vocabulary import LabelState
from tests.conftest import add_studies


def test_agreement_wins_disagreement_is_unresolved_and_silver_fills_the_rest(project: Project) -> None:
    add_studies(project, {"s1": "FINDINGS: Cardiomegaly. No pleural effusion.", "s2": "FINDINGS: Emphysema."})
    project.extract("rules")
    project.decide("s1", "Cardiomegaly", "present", reader="dr_a")
    project.decide("s1", "Cardiomegaly", "present", reader="dr_b")
    project.decide("s1", "Pleural effusion", "absent", reader="dr_a")
    project.decide("s1", "Pleural effusion", "present", reader="dr_b")
    labels = project.project_labels()
    s1 = labels["s1"]
    assert (s1["Cardiomegaly"].origin, s1["Cardiomegaly"].state) == ("agreed", LabelState.PRESENT)
    effusion = s1["Pleural effusion"]
    assert (effusion.origin, effusion.state) == ("unresolved", None)
    assert effusion.readers == {"dr_a": "absent", "dr_b": "present"}
    assert s1["Emphysema"].origin == "silver" and s1["Emphysema"].source == "rules"
    assert labels["s2"]["Emphysema"].state is LabelState.PRESENT and len(labels["s2"]) == 18
    assert [(u.study_id, u.finding) for u in consensus.unresolved(project.db)] == [("s1", "Pleural effusion")]
    assert project.status()["unresolved"] == 1


def test_a_reader_changing_their_mind_counts_once_and_undo_restores(project: Project) -> None:
    add_studies(project, {"s1": "FINDINGS: Cardiomegaly."})
    project.decide("s1", "Cardiomegaly", "absent", reader="dr_a")
    project.decide("s1", "Cardiomegaly", "present", reader="dr_a")
    project.decide("s1", "Cardiomegaly", "present", reader="dr_b")
    assert consensus.project_gold(project.db)["s1"]["Cardiomegaly"].origin == "agreed"
    project.undo(reader="dr_a")  # back to absent: now the readers disagree
    assert consensus.project_gold(project.db)["s1"]["Cardiomegaly"].origin == "unresolved"
