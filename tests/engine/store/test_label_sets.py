"""Label sets (m013): per-label rows of an older project become sets without a label changing,
and the ``silver_labels`` view reads, splits usage and updates as the table did."""

from __future__ import annotations

from pathlib import Path

from radcurate.engine import settings
from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.files.atomic import write_text
from radcurate.engine.project import DATABASE_FILE, SETTINGS_FILE, Project
from radcurate.engine.store import label_sets, migrations
from radcurate.engine.store.database import connect, utc_now
from radcurate.engine.store.decisions import write_transaction
from radcurate.engine.vocabulary import LabelState

FINDINGS = ("Cardiomegaly", "Emphysema", "Lung nodule")
VIEW_COLUMNS = (
    "study_id, source, finding, state, evidence, start, end, confidence, flags, extractor_version,"
    " prompt_hash, tokens_in, tokens_out, cost_usd, created_at, report_sha256"
)
OLD_ROWS = [  # study, source, finding, state, evidence, start, end, confidence, flags, tokens in/out, cost, sha
    ("s1", "llm", "Cardiomegaly", "present", "Heart is enlarged.", 0, 18, 0.9, "[]", 34, 4, 0.01, "new"),
    ("s1", "llm", "Emphysema", "absent", None, None, None, None, '["negated"]', 33, 3, 0.01, "new"),
    ("s1", "llm", "Lung nodule", "uncertain", "A 4 mm focus", 20, 32, 0.5, "[]", 33, 3, 0.01, "new"),
    ("s1", "llm", "Cardiomegaly", "absent", None, None, None, None, "[]", 0, 0, 0.0, "old"),  # stale text
    ("s2", "rules", "Emphysema", "present", "emphysema", 5, 14, None, "[]", 0, 0, 0.0, "r2"),
]


def _old_project(path: Path) -> None:
    """A project as m012 left it, with per-label rows (two sources, a stale set, usage split over labels)."""
    path.mkdir()
    db = connect(path / DATABASE_FILE, create=True)
    migrations.migrations.apply(db, stop_before="m013_label_sets")
    now = utc_now()
    db.execute("DELETE FROM findings")  # a project of three findings
    db.conn.executemany("INSERT INTO findings (name, position) VALUES (?, ?)", [(f, i) for i, f in enumerate(FINDINGS)])
    for i, (study, sha) in enumerate((("s1", "new"), ("s2", "r2")), start=1):
        db.execute("INSERT INTO studies (id, position, created_at) VALUES (?, ?, ?)", [study, i, now])
        db.execute(
            "INSERT INTO reports (id, study_id, text, sha256, source, imported_at) VALUES (?, ?, 'x', ?, 't', ?)",
            [study, study, sha, now],
        )
    db.conn.executemany(  # s1's report was replaced: its labels of the first text are stale
        "INSERT INTO report_versions (study_id, sha256, text, imported_at) VALUES ('s1', ?, 'x', ?)",
        [("old", now), ("new", now)],
    )
    for name in ("llm", "rules"):
        db.execute("INSERT INTO label_sources (name, kind, created_at) VALUES (?, 'extractor', ?)", [name, now])
    db.conn.executemany(
        "INSERT INTO silver_labels (study_id, source, finding, state, evidence, start, end, confidence, flags,"
        " tokens_in, tokens_out, cost_usd, report_sha256, extractor_version, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '1', ?)",
        [(*row, now) for row in OLD_ROWS],
    )
    db.execute("UPDATE label_sources SET label_count = (SELECT count(*) FROM silver_labels l WHERE l.source = name)")
    db.conn.close()
    write_text(path / SETTINGS_FILE, settings.render(settings.Settings()))


def _view(db) -> list[tuple]:  # noqa: ANN001
    return sorted(db.execute(f"SELECT {VIEW_COLUMNS} FROM silver_labels").fetchall(), key=repr)


def test_per_label_rows_become_sets_and_read_back_unchanged(tmp_path: Path) -> None:
    _old_project(tmp_path / "p")
    db = connect(tmp_path / "p" / DATABASE_FILE)
    before = _view(db)
    db.conn.close()
    with Project.open(tmp_path / "p") as project:
        assert _view(project.db) == before  # every label, its usage share and provenance as it was
        sets = project.db.execute("SELECT study_id, source, report_sha256, n, tokens_in FROM label_sets").fetchall()
        assert sorted(sets) == [("s1", "llm", "new", 3, 100), ("s1", "llm", "old", 1, 0), ("s2", "rules", "r2", 1, 0)]
        assert project.silver("s1", source="llm")["Emphysema"].flags == ("negated",)
        assert project.silver("s1", source="llm")["Lung nodule"].state is LabelState.UNCERTAIN
        assert project.status()["stale"]["labels"] == 1
        assert {s.name: s.labels for s in project.label_sources()} == {"llm": 4, "rules": 1}


def test_a_rerun_replaces_its_own_set_and_an_update_through_the_view_marks_the_study(project: Project) -> None:
    names = tuple(project.vocabulary)
    labels = [SilverLabel(f, LabelState.ABSENT) for f in names]
    with write_transaction(project.db) as conn:
        conn.execute("INSERT INTO studies (id, position, created_at) VALUES ('a', 1, ?)", [utc_now()])
        conn.execute("INSERT INTO label_sources (name, kind, created_at) VALUES ('x', 'extractor', ?)", [utc_now()])
        label_sets.replace_study_labels(conn, "a", "x", labels, report_sha256=None, tokens_in=37)
        label_sets.replace_study_labels(conn, "a", "x", labels, report_sha256=None, tokens_in=37)  # a rerun
    rows = project.db.execute("SELECT tokens_in FROM silver_labels WHERE source = 'x'").fetchall()
    assert len(rows) == len(names) and sum(r[0] for r in rows) == 37  # split exactly, once
    assert project.db.execute("SELECT label_count FROM label_sources WHERE name = 'x'").fetchone()[0] == len(names)
    project.db.execute("DELETE FROM priority_dirty")
    project.db.execute(f"UPDATE silver_labels SET state = 'present' WHERE study_id = 'a' AND finding = '{names[1]}'")
    states = dict(project.db.execute("SELECT finding, state FROM silver_labels WHERE study_id = 'a'").fetchall())
    assert states[names[1]] == "present" and sum(s == "present" for s in states.values()) == 1
    assert project.db.execute("SELECT study_id FROM priority_dirty").fetchall() == [("a",)]
