"""The label count per source that ``status`` reads is maintained on every write, and stays exact."""

from __future__ import annotations

from pathlib import Path

from radcurate.engine.project import Project
from radcurate.engine.store import labels as label_store
from radcurate.engine.store import studies
from radcurate.engine.store.decisions import write_transaction
from tests.conftest import add_studies


def counted(project: Project) -> dict[str, int]:
    rows = project.db.execute("SELECT source, count(*) FROM silver_labels GROUP BY source ORDER BY source")
    return {s: int(n) for s, n in rows.fetchall()}


def test_maintained_counts_stay_exact_through_reruns_changes_and_reimports(project: Project, tmp_path: Path) -> None:
    add_studies(project, {f"s{i}": f"FINDINGS: Cardiomegaly. Case {i}." for i in range(6)})
    project.extract("rules")
    assert label_store.counts(project.db) == counted(project) == {"rules": 6 * 18}
    with write_transaction(project.db):
        studies.upsert_report(project.db, "s2", "FINDINGS: Emphysema.", source="test")
    project.extract("rules")  # the new text is labelled; the old labels stay, stale
    project.extract("rules", refresh=True)  # every report again: replaces, never adds
    assert label_store.counts(project.db) == counted(project) == {"rules": 7 * 18}
    table = tmp_path / "truth.csv"
    table.write_text("study_id,Cardiomegaly\n" + "".join(f"s{i},1\n" for i in range(6)), encoding="utf-8")
    project.import_labels(table, source="truth")
    project.import_labels(table, source="truth")  # a re-import replaces the reference wholesale
    assert label_store.counts(project.db) == counted(project)
    assert project.status()["labels"] == counted(project)
