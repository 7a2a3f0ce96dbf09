"""Stored review priorities (m010) equal the ranking computed on read, after every kind of write;
the paged worklist is an indexed read that agrees with the whole worklist."""

from __future__ import annotations

import pytest

from radcurate.engine.project import Project
from radcurate.engine.review import priorities
from radcurate.engine.review.ranking import RankedStudy, rank
from radcurate.engine.store import migrations
from radcurate.engine.store import scores as score_store
from radcurate.engine.store.database import utc_now
from radcurate.engine.store.decisions import write_transaction
from tests.conftest import add_studies

REPORTS = {
    "s1": "FINDINGS: No pleural effusion. No cardiomegaly.",
    "s2": "FINDINGS: No pleural effusion. Heart size normal.",
    "s3": "FINDINGS: Possible small pleural effusion.",
    "s4": "FINDINGS: Cardiomegaly. Emphysema.",
    "s5": "FINDINGS: Normal.",
}


def _score(project: Project, kind: str, scores: dict[tuple[str, str], float], auc: float | None = None) -> int:
    """A model and its scores, written as scoring writes them (one transaction)."""
    metrics = "{}" if auc is None else f'{{"test_auc": {{"macro": {auc}}}}}'
    with write_transaction(project.db) as conn:
        cur = conn.execute(
            "INSERT INTO models (version, kind, label_snapshot, metrics, created_at) VALUES (?, ?, 'x', ?, ?)",
            (f"{kind}-{utc_now()}", kind, metrics, utc_now()),
        )
        model_id = int(cur.lastrowid or 0)
        score_store.put(conn, model_id, [(s, f, v) for (s, f), v in scores.items()])
    return model_id


def _key(rows: list[RankedStudy]) -> list[tuple[object, ...]]:
    return [(r.study_id, r.priority, r.reasons, r.reviewed) for r in rows]


def _same(project: Project, reader: str | None = None, *, marked: bool = False) -> None:
    """Stored == on read. ``marked``: a decision path, which only marks its study for the next read
    (the reader's key waits for its own commit, not for the ranking); bulk writes leave nothing."""
    on_read = rank(project.db, project.vocabulary, reader=reader)
    assert priorities.pending(project.db, project.vocabulary) == marked, "what the write path left for the read"
    stored = project.ranked_worklist(reader=reader)
    assert _key(stored) == _key(on_read)
    assert _key(project.ranked_worklist(reader=reader, limit=2)) == _key(on_read[:2])


def test_stored_priorities_equal_the_on_read_ranking_after_scoring_and_decisions(project: Project) -> None:
    add_studies(project, REPORTS)
    project.extract("rules")  # the extraction's write path stores priorities
    _same(project)

    _score(project, "supervised", {(s, "Pleural effusion"): 0.1 for s in REPORTS} | {("s2", "Pleural effusion"): 0.9})
    project.refresh_priorities()  # what scoring's write path calls after storing scores
    _same(project)
    assert project.ranked_worklist(limit=1)[0].study_id == "s2"

    project.decide("s2", "Pleural effusion", "present", reader="A")  # the decision path: s2 marked
    assert [r[0] for r in project.db.execute("SELECT study_id FROM priority_dirty").fetchall()] == ["s2"]
    _same(project, marked=True)  # the read recomputed s2 alone
    _same(project, reader="A")
    for finding in project.vocabulary:
        project.decide("s4", finding, "absent", reader="A")
    project.decide("s1", "Emphysema", "present", reader="B")
    project.decide("s1", "Emphysema", "absent", reader="C")  # readers disagree: s1 goes up
    _same(project, reader="A", marked=True)
    assert project.ranked_worklist(limit=1)[0].study_id == "s1"
    assert project.status()["unresolved"] == 1  # read from the stored reasons
    project.undo(reader="C")
    _same(project, marked=True)
    assert project.status()["unresolved"] == 0

    # a newer model with a measured AUC replaces the old one's say everywhere (the fingerprint)
    _score(project, "supervised", {("s5", "Cardiomegaly"): 0.99}, auc=0.8)
    assert priorities.pending(project.db, project.vocabulary)
    assert project.refresh_priorities() == len(REPORTS)
    _same(project)
    # a raw write the façade never saw is caught by the triggers and recomputed on the next read
    with write_transaction(project.db) as conn:
        conn.execute("UPDATE silver_labels SET state = 'uncertain' WHERE study_id = 's5' AND finding = 'Emphysema'")
    assert priorities.pending(project.db, project.vocabulary)
    stored = project.ranked_worklist()
    assert _key(stored) == _key(rank(project.db, project.vocabulary))
    add_studies(project, {"s6": "FINDINGS: Possible emphysema."})  # a new study: found by its position
    project.extract("rules")
    _same(project)
    assert len(project.ranked_worklist()) == len(REPORTS) + 1


def test_paged_worklist_matches_the_whole_worklist_and_filters_by_status(project: Project) -> None:
    add_studies(project, REPORTS)
    project.extract("rules")
    page = project.worklist_page(reader="A", offset=0, limit=3)
    assert [e.study_id for e in page] == ["s1", "s2", "s3"] and page[0].priority is None  # import order: no model
    _score(project, "supervised", {(s, "Cardiomegaly"): 0.5 for s in REPORTS} | {("s3", "Cardiomegaly"): 0.95})
    project.refresh_priorities()
    for finding in project.vocabulary:
        project.decide("s3", finding, "absent", reader="A")
    project.decide("s5", "Emphysema", "absent", reader="A")
    whole = sorted(project.worklist(reader="A"), key=lambda e: (-(e.priority or 0), e.position))
    assert [e.study_id for e in project.worklist_page(reader="A", limit=100)] == [e.study_id for e in whole]
    assert project.worklist_page(reader="A", offset=1, limit=2) == whole[1:3]
    for statuses in (["done"], ["in_progress"], ["unreviewed"], ["unreviewed", "in_progress"]):
        expected = [e for e in whole if e.status in statuses]
        assert project.worklist_page(reader="A", statuses=statuses) == expected, statuses
        assert project.worklist_page(reader="A", statuses=statuses, offset=1, limit=1) == expected[1:2]
    assert project.worklist_counts(reader="A") == {"unreviewed": 3, "in_progress": 1, "done": 1, "total": 5}
    assert project.worklist_counts(reader="B")["unreviewed"] == 5
    snapshot = project.worklist_snapshot(reader="A")
    assert list(snapshot) == whole and snapshot.counts() == project.worklist_counts(reader="A")
    with pytest.raises(Exception, match="unknown worklist status"):
        project.worklist_page(reader="A", statuses=["finished"])


def test_page_queries_walk_an_index_and_every_trigger_is_in_place(project: Project) -> None:
    add_studies(project, REPORTS)
    names = {r[0] for r in project.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    expected = {migrations.REPLACED_TRIGGERS.get(name, name) for name in migrations.PRIORITY_TRIGGERS}
    assert expected <= names, "a table rebuilt by a later migration lost its trigger"
    _score(project, "supervised", {("s1", "Cardiomegaly"): 0.5})
    project.refresh_priorities()
    captured: list[str] = []
    project.db.conn.set_trace_callback(captured.append)
    project.worklist_page(reader="A", offset=2, limit=2, statuses=["unreviewed", "in_progress"])
    project.db.conn.set_trace_callback(None)
    sql = next(s for s in captured if "LIMIT" in s and "OFFSET" in s)
    plan = " ".join(r[3] for r in project.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
    assert "SCAN p USING COVERING INDEX study_priority_order" in plan, plan  # the page is cut from the index
