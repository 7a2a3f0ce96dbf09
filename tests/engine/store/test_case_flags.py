"""Readers' case flags (m012_review): flag, unflag, skip; append-only; per reader; named errors."""

from __future__ import annotations

import sqlite3

import pytest

from radcurate.engine.errors import InputError


@pytest.fixture
def studied(project):  # noqa: ANN001, ANN201
    for study in ("s1", "s2"):
        project.db.execute("INSERT INTO studies (id, position, created_at) VALUES (?, ?, '2026-01-01')", [study, 1])
    project.db.conn.commit()
    return project


def test_a_flag_holds_until_the_same_reader_clears_it(studied) -> None:  # noqa: ANN001
    p = studied
    first = p.flag_case("s1", reader="ana", note="look again at the left base")
    p.flag_case("s1", reader="ben")
    p.flag_case("s2", reader="ana")
    assert first.action == "flag" and first.note == "look again at the left base" and first.id > 0
    assert [(f.study_id, f.reader) for f in p.case_flags()] == [("s1", "ana"), ("s1", "ben"), ("s2", "ana")]
    p.flag_case("s1", reader="ana", flagged=False)
    assert [(f.study_id, f.reader) for f in p.case_flags("s1")] == [("s1", "ben")]
    assert [f.study_id for f in p.case_flags(reader="ana")] == ["s2"]
    skip = p.skip_case("s2", reader="ana", note="motion artefact")
    assert [f.study_id for f in p.case_flags(reader="ana")] == ["s2"]  # a skip clears no flag
    assert [f.action for f in p.case_flag_history("s2")] == ["flag", "skip"] and skip.note == "motion artefact"
    assert len(p.case_flag_history()) == 5


def test_flags_are_append_only_and_errors_name_the_field(studied) -> None:  # noqa: ANN001
    p = studied
    p.flag_case("s1", reader="ana")
    for sql in ("UPDATE case_flags SET reader = 'x'", "DELETE FROM case_flags"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            p.db.execute(sql)
    with pytest.raises(InputError) as unknown:
        p.flag_case("nope", reader="ana")
    assert unknown.value.field == "study"
    with pytest.raises(InputError) as nobody:
        p.skip_case("s1", reader="  ")
    assert nobody.value.field == "reader"
    assert len(p.case_flag_history()) == 1  # the refused ones wrote nothing
