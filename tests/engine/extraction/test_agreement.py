"""Agreement of a label source with a reference: per-finding metrics computed by hand, and macro."""

from __future__ import annotations

import pytest

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.errors import InputError
from radcurate.engine.project import Project
from radcurate.engine.store import label_sets, studies
from radcurate.engine.store import labels as label_store
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.vocabulary import LabelState
from tests.conftest import add_studies

P, A, U, N = LabelState.PRESENT, LabelState.ABSENT, LabelState.UNCERTAIN, LabelState.NOT_MENTIONED


def put(project: Project, source: str, kind: str, states: dict[str, dict[str, LabelState]]) -> None:
    with write_transaction(project.db) as conn:
        label_store.ensure_source(conn, source, kind=kind)
        for study, by_finding in states.items():
            sha = studies.current_report_sha256(conn, study)
            labels = [SilverLabel(f, s) for f, s in by_finding.items()]
            label_sets.replace_study_labels(conn, study, source, labels, report_sha256=sha)


@pytest.fixture
def scored(project: Project) -> Project:
    """Ten studies; reference and candidate differ in known ways on three findings."""
    add_studies(project, {f"s{i}": f"report {i}" for i in range(11)})
    reference, candidate = {}, {}
    for i in range(10):
        reference[f"s{i}"] = {"Cardiomegaly": P if i < 4 else A, "Emphysema": A, "Atelectasis": P if i < 5 else N}
        # Cardiomegaly: TP s2 s3, FN s0 s1, FP s4 s5. Atelectasis: "uncertain" and "not_mentioned" read as 0.
        candidate[f"s{i}"] = {
            "Cardiomegaly": P if 2 <= i < 6 else N,
            "Emphysema": N,
            "Atelectasis": P if i < 3 else (U if i < 5 else A),
        }
    reference["s10"] = {"Cardiomegaly": P}  # only in the reference: not compared
    put(project, "truth", "reference", reference)
    put(project, "guess", "extractor", candidate)
    return project


def test_per_finding_metrics_match_hand_computation(scored: Project) -> None:
    result = scored.agreement("truth", "guess").as_json()
    assert result["studies"] == 10 and (result["reference"], result["candidate"]) == ("truth", "guess")
    # Cardiomegaly: TP=2 FP=2 FN=2 TN=4 -> p=r=F1=0.5; po=0.6, pe=0.4*0.4+0.6*0.6=0.52, kappa=0.08/0.48
    assert result["findings"]["Cardiomegaly"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "kappa": round(0.08 / 0.48, 4),
        "support": 4,
    }
    # Atelectasis: TP=3 FP=0 FN=2 TN=5 -> p=1, r=0.6, F1=0.75; po=0.8, pe=0.5*0.3+0.5*0.7=0.5, kappa=0.6
    assert result["findings"]["Atelectasis"] == {
        "precision": 1.0,
        "recall": 0.6,
        "f1": 0.75,
        "kappa": 0.6,
        "support": 5,
    }
    # Emphysema: nobody says present -> every metric undefined, not a fake 0 or 1
    assert result["findings"]["Emphysema"] == {
        "precision": None,
        "recall": None,
        "f1": None,
        "kappa": None,
        "support": 0,
    }
    assert set(result["findings"]) == {"Cardiomegaly", "Emphysema", "Atelectasis"}
    assert result["macro"] == {
        "precision": 0.75,
        "recall": 0.55,
        "f1": 0.625,
        "kappa": round((0.08 / 0.48 + 0.6) / 2, 4),
    }


def test_a_source_agrees_perfectly_with_itself(scored: Project) -> None:
    result = scored.agreement("truth", "truth").as_json()
    assert result["studies"] == 11
    assert result["macro"]["f1"] == 1.0 and result["macro"]["kappa"] == 1.0


def test_default_candidate_is_the_most_recent_extractor_and_errors_name_the_problem(scored: Project) -> None:
    assert scored.agreement("truth").candidate == "guess"
    put(scored, "newer", "extractor", {"s0": {"Cardiomegaly": P}})
    assert scored.agreement("truth").candidate == "newer"
    with pytest.raises(InputError, match="no label source 'nobody'"):
        scored.agreement("nobody")
    put(scored, "lonely", "extractor", {})
    with pytest.raises(InputError, match="no study has labels from both"):
        scored.agreement("truth", "lonely")


def test_no_extractor_yet(project: Project) -> None:
    add_studies(project, {"a": "x"})
    put(project, "truth", "reference", {"a": {"Cardiomegaly": P}})
    with pytest.raises(InputError, match="no extractor has labelled this project yet"):
        project.agreement("truth")
