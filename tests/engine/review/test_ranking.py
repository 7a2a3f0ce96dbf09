"""Review ranking: likely silver errors first, each row with its reasons; reviewed studies drop down.

Also the adjudication path it depends on: m006 lets decisions be of kind ``adjudicate`` (the
upgrade of a database that already holds decisions keeps them, the triggers and the gold view).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from radcurate.engine.errors import StoreError
from radcurate.engine.project import DATABASE_FILE, Project
from radcurate.engine.review.ranking import rank
from radcurate.engine.store import migrations
from radcurate.engine.store import scores as score_store
from radcurate.engine.store.database import connect, utc_now
from radcurate.engine.store.decisions import write_transaction
from tests.conftest import add_studies

REPORTS = {
    "calm": "FINDINGS: No pleural effusion. No cardiomegaly.",
    "wrong": "FINDINGS: No pleural effusion. Heart size normal.",  # silver says absent; the model disagrees
    "doubt": "FINDINGS: Possible small pleural effusion.",  # silver uncertain
    "done": "FINDINGS: Cardiomegaly.",
}


def _model(project: Project, kind: str, scores: dict[tuple[str, str], float]) -> int:
    with write_transaction(project.db) as conn:
        cur = conn.execute(
            "INSERT INTO models (version, kind, label_snapshot, created_at) VALUES (?, ?, 'x', ?)",
            (f"{kind}-1", kind, utc_now()),
        )
        model_id = int(cur.lastrowid or 0)
        score_store.put(conn, model_id, [(s, f, v) for (s, f), v in scores.items()])
    return model_id


def test_rank_puts_model_disagreement_first_with_reasons(project: Project) -> None:
    add_studies(project, REPORTS)
    project.extract("rules")
    baseline = {(s, "Pleural effusion"): 0.1 for s in REPORTS}
    _model(project, "supervised", {**baseline, ("wrong", "Pleural effusion"): 0.95})
    _model(project, "clip", {("calm", "Cardiomegaly"): 0.9})  # zero-shot doubts 'calm' a little
    for finding in project.vocabulary:
        project.decide("done", finding, "absent", reader="A")

    rows = rank(project.db, project.vocabulary)
    assert [r.study_id for r in rows] == ["wrong", "doubt", "calm", "done"]
    top = rows[0].reasons[0]
    assert (top.finding, top.kind, top.silver, top.score) == ("Pleural effusion", "model", "absent", 0.95)
    assert top.text() == "Pleural effusion: silver absent vs model 0.95"
    assert rows[0].priority == pytest.approx(0.95)  # one finding doubted: its weight |0 − 0.95|
    assert {r.kind for r in rows[1].reasons} >= {"uncertain"}
    calm = rows[2]
    assert calm.reasons[0].kind == "zero_shot" and calm.reasons[0].weight == pytest.approx(0.45)
    assert rows[3].reviewed and rows[3].reasons == ()  # every finding decided: nothing silver left to doubt
    assert [r.study_id for r in rank(project.db, project.vocabulary, limit=2)] == ["wrong", "doubt"]

    # the desktop's worklist shows the same order (done studies last for that reader)
    assert [e.study_id for e in project.worklist(reader="A")] == ["wrong", "doubt", "calm", "done"]
    assert project.worklist(reader="A")[0].priority == pytest.approx(rows[0].priority)


def test_readers_disagreement_ranks_until_adjudicated_and_extractors_disagree(project: Project) -> None:
    add_studies(project, {"s1": "FINDINGS: Emphysema.", "s2": "FINDINGS: Normal."})
    project.extract("rules")
    project.extract("rules", source="rules-b")  # a second extractor run: same answers, no disagreement yet
    with write_transaction(project.db) as conn:
        conn.execute(
            "UPDATE silver_labels SET state = 'present' WHERE source = 'rules-b' AND study_id = 's2'"
            " AND finding = 'Atelectasis'"
        )
    project.decide("s1", "Emphysema", "present", reader="A")
    project.decide("s1", "Emphysema", "absent", reader="B")
    rows = {r.study_id: r for r in rank(project.db, project.vocabulary)}
    assert rows["s1"].reasons[0].kind == "readers" and rows["s1"].priority >= 1.0
    assert "A present, B absent" in rows["s1"].reasons[0].text()
    extractors = [r for r in rows["s2"].reasons if r.kind == "extractors"]
    assert [(r.finding, r.silver, r.other) for r in extractors] == [("Atelectasis", "present", "not_mentioned")]

    status = subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", "status", str(project.path)], capture_output=True, text=True
    )
    assert "unresolved: s1 / Emphysema: A present, B absent" in status.stdout, status.stderr
    decision = project.adjudicate("s1", "emphysema", "present", reader="C", note="seen on lung window")
    assert decision.kind == "adjudicate" and decision.finding == "Emphysema"
    labels = project.project_labels()["s1"]["Emphysema"]
    assert (labels.origin, labels.source, labels.state.value) == ("adjudicated", "C", "present")
    assert not [r for r in rank(project.db, project.vocabulary)[0].reasons if r.kind == "readers"]
    assert project.status()["unresolved"] == 0


def test_m006_upgrade_keeps_decisions_triggers_and_gold_view(tmp_path: Path) -> None:
    path = tmp_path / "old"
    Project.create(path).close()
    db = connect(path / DATABASE_FILE)
    # back to the schema before m006: rebuild as a fresh database stopped before it, with decisions in it
    db.conn.close()
    (path / DATABASE_FILE).unlink()
    db = connect(path / DATABASE_FILE, create=True)
    migrations.migrations.apply(db, stop_before="m006_curate")
    db.execute("INSERT INTO findings (name, position) VALUES ('Cardiomegaly', 0), ('Emphysema', 1)")
    db.execute("INSERT INTO studies (id, position, created_at) VALUES ('s1', 1, ?)", [utc_now()])
    for i, (reader, state, kind) in enumerate([("A", "present", "decide"), ("A", "absent", "decide")], 1):
        db.execute(
            "INSERT INTO decisions (action, study_id, finding, reader, state, kind, decided_at) VALUES (?, 's1',"
            " 'Cardiomegaly', ?, ?, ?, ?)",
            [i, reader, state, kind, utc_now()],
        )
    db.execute(
        "INSERT INTO decisions (action, study_id, finding, reader, state, previous_state, kind, undoes, decided_at)"
        " VALUES (3, 's1', 'Cardiomegaly', 'A', 'present', 'absent', 'undo', 2, ?)",
        [utc_now()],
    )
    with pytest.raises(Exception, match="CHECK"):
        db.execute(
            "INSERT INTO decisions (action, study_id, finding, reader, state, kind, decided_at)"
            " VALUES (4, 's1', 'Emphysema', 'C', 'present', 'adjudicate', ?)",
            [utc_now()],
        )
    db.conn.commit()
    db.conn.close()

    with Project.open(path) as project:
        assert "m006_curate" in [m.name for m in migrations.migrations.applied(project.db)]
        trail = project.history("s1")
        assert [(d.id, d.kind, d.state.value if d.state else None, d.undoes) for d in trail] == [
            (1, "decide", "present", None),
            (2, "decide", "absent", None),
            (3, "undo", "present", 2),
        ]
        assert project.gold("s1", reader="A") == {"Cardiomegaly": trail[2].state}
        adjudicated = project.adjudicate("s1", "Emphysema", "present", reader="C")
        assert adjudicated.id == 4  # AUTOINCREMENT carried over
        with pytest.raises(Exception, match="append-only"):
            project.db.execute("UPDATE decisions SET state = 'absent' WHERE id = 1")
        with pytest.raises(Exception, match="append-only"):
            project.db.execute("DELETE FROM decisions WHERE id = 1")
        indexes = {r[0] for r in project.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"decisions_key", "decisions_reader", "decisions_undoes", "decisions_action"} <= indexes
        assert not project.db["decisions_m005"].exists()


def test_cli_worklist_json_and_adjudicate(project: Project) -> None:
    add_studies(project, {"s1": "FINDINGS: Possible nodule.", "s2": "FINDINGS: Normal."})
    project.extract("rules")
    cli = [sys.executable, "-m", "radcurate.engine.cli"]
    out = subprocess.run(
        [*cli, "worklist", str(project.path), "--json", "--limit", "1"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["study"] for r in rows] == ["s1"] and rows[0]["reasons"][0]["kind"] == "uncertain"
    assert set(rows[0]) >= {"study", "priority", "reasons"}
    bad = subprocess.run(
        [*cli, "adjudicate", str(project.path), "s1", "Lung nodule", "maybe", "--reader", "C"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "maybe" in bad.stderr and "Traceback" not in bad.stderr
    ok = subprocess.run(
        [*cli, "adjudicate", str(project.path), "s1", "Lung nodule", "present", "--reader", "C", "--json"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr and json.loads(ok.stdout)["kind"] == "adjudicate"


def test_store_refuses_unknown_decision_kinds(project: Project) -> None:
    add_studies(project, {"s1": "FINDINGS: Normal."})
    from radcurate.engine.store import decisions
    from radcurate.engine.vocabulary import LabelState

    with pytest.raises(StoreError):
        decisions.record(project.db, "s1", {"Emphysema": LabelState.ABSENT}, reader="A", kind="guess")
