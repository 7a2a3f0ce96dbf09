"""Schema migrations: a version-1 database upgrades in place and keeps its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from radcurate.engine import settings
from radcurate.engine.errors import StoreError
from radcurate.engine.files.atomic import write_text
from radcurate.engine.project import DATABASE_FILE, SETTINGS_FILE, Project
from radcurate.engine.store import migrations
from radcurate.engine.store.database import connect, utc_now
from radcurate.engine.vocabulary import LabelState


def make_version_1_project(path: Path) -> None:
    """A project as the first release wrote it: only migration m001 applied, with data in it."""
    path.mkdir()
    db = connect(path / DATABASE_FILE, create=True)
    migrations.migrations.apply(db, stop_before="m002_labels")
    db.execute("INSERT INTO findings (name, position) VALUES ('Cardiomegaly', 0), ('Emphysema', 1)")
    db.execute("INSERT INTO studies (id, position, created_at) VALUES ('old', 1, ?)", [utc_now()])
    db.execute(
        "INSERT INTO decisions (action, study_id, finding, reader, state, kind, decided_at) "
        "VALUES (1, 'old', 'Cardiomegaly', 'dr_a', 'present', 'decide', ?)",
        [utc_now()],
    )
    db.conn.close()
    write_text(path / SETTINGS_FILE, settings.render(settings.Settings()))


def test_version_1_database_upgrades_and_keeps_decisions(tmp_path: Path) -> None:
    make_version_1_project(tmp_path / "v1")
    db = connect(tmp_path / "v1" / DATABASE_FILE)
    assert migrations.schema_version(db) == 1
    assert not db["silver_labels"].exists()
    db.conn.close()

    with Project.open(tmp_path / "v1") as project:
        assert migrations.schema_version(project.db) == len(migrations.migrations._migrations)
        assert project.db["silver_labels"].exists() and project.db["jobs"].exists()
        assert project.gold("old", reader="dr_a") == {"Cardiomegaly": LabelState.PRESENT}
        project.decide("old", "Emphysema", "absent", reader="dr_a")
        assert project.status()["decisions"] == 2


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    make_version_1_project(tmp_path / "v1")
    Project.open(tmp_path / "v1").close()
    with Project.open(tmp_path / "v1") as project:
        names = [m.name for m in migrations.migrations.applied(project.db)]
    assert names == [m.name for m in migrations.migrations._migrations]


def test_database_from_a_newer_radcurate_is_refused(tmp_path: Path) -> None:
    Project.create(tmp_path / "p").close()
    db = connect(tmp_path / "p" / DATABASE_FILE)
    db["_sqlite_migrations"].insert({"migration_set": "radcurate", "name": "m999_future", "applied_at": utc_now()})
    db.conn.close()
    with pytest.raises(StoreError, match="newer radcurate"):
        Project.open(tmp_path / "p")


def test_version_3_labels_and_decisions_get_their_report_hash(tmp_path: Path) -> None:
    """m004: rows made before provenance existed are stamped with the study's report text hash,
    so an upgraded project's gold and "already labelled" stay as they were."""
    path = tmp_path / "v3"
    path.mkdir()
    db = connect(path / DATABASE_FILE, create=True)
    migrations.migrations.apply(db, stop_before="m004_provenance")
    now = utc_now()
    db.execute("INSERT INTO findings (name, position) VALUES ('Cardiomegaly', 0)")
    db.execute("INSERT INTO studies (id, position, created_at) VALUES ('s1', 1, ?)", [now])
    db.execute(
        "INSERT INTO reports (id, study_id, text, sha256, source, imported_at) VALUES ('s1', 's1', 'x', 'abc', 't', ?)",
        [now],
    )
    db.execute("INSERT INTO label_sources (name, kind, created_at) VALUES ('rules', 'extractor', ?)", [now])
    db.execute(
        "INSERT INTO silver_labels (study_id, source, finding, state, created_at) "
        "VALUES ('s1', 'rules', 'Cardiomegaly', 'present', ?)",
        [now],
    )
    db.execute(
        "INSERT INTO decisions (action, study_id, finding, reader, state, kind, decided_at) "
        "VALUES (1, 's1', 'Cardiomegaly', 'dr_a', 'absent', 'decide', ?)",
        [now],
    )
    db.conn.close()
    write_text(path / SETTINGS_FILE, settings.render(settings.Settings()))
    with Project.open(path) as project:
        assert project.db.execute("SELECT report_sha256 FROM silver_labels").fetchone()[0] == "abc"
        assert project.history("s1")[0].report_sha256 == "abc" and not project.history("s1")[0].stale
        assert project.gold("s1", reader="dr_a") == {"Cardiomegaly": LabelState.ABSENT}
        assert project.silver("s1")["Cardiomegaly"].state is LabelState.PRESENT
        assert project.status()["stale"] == {"labels": 0, "decisions": 0}
        with pytest.raises(Exception, match="append-only"):  # the trigger came back after the backfill
            project.db.execute("UPDATE decisions SET state = 'present'")
