"""Project folders: layout, WAL mode, settings, vocabulary, clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from radcurate.engine import settings
from radcurate.engine.errors import InputError
from radcurate.engine.project import Project
from radcurate.engine.vocabulary import CT_RATE_FINDINGS, LabelState, Vocabulary


def test_create_makes_the_folder_layout_in_wal_mode(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        assert project.vocabulary.findings == CT_RATE_FINDINGS
        counts = project.status()
    for name in ("radcurate.toml", "radcurate.db", "cache", "models", "exports"):
        assert (tmp_path / "p" / name).exists(), name
    assert {
        k: counts[k] for k in ("studies", "series", "reports", "decisions", "quarantined", "models", "jobs")
    } == dict.fromkeys(("studies", "series", "reports", "decisions", "quarantined", "models", "jobs"), 0)
    conn = sqlite3.connect(tmp_path / "p" / "radcurate.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_create_refuses_an_existing_project_and_open_refuses_a_plain_folder(tmp_path: Path) -> None:
    Project.create(tmp_path / "p").close()
    with pytest.raises(InputError, match="already exists"):
        Project.create(tmp_path / "p")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a radcurate project"):
        Project.open(tmp_path / "empty")


def test_custom_vocabulary_from_text_and_toml(tmp_path: Path) -> None:
    text = tmp_path / "vocab.txt"
    text.write_text("# CheXpert subset\nPneumothorax\nEdema  # trailing comment\n\nCardiomegaly\n")
    toml = tmp_path / "vocab.toml"
    toml.write_text('findings = ["Pneumothorax", "Edema"]\n')
    assert Vocabulary.load(text).findings == ("Pneumothorax", "Edema", "Cardiomegaly")
    with Project.create(tmp_path / "p", vocabulary=Vocabulary.load(toml)) as project:
        assert project.vocabulary.findings == ("Pneumothorax", "Edema")
        assert project.vocabulary.resolve("edema") == "Edema"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("A\nA\n", ".txt", "listed twice"),
        ("", ".txt", "at least one finding"),
        ("findings = 3\n", ".toml", "list of strings"),
        ("findings = [\n", ".toml", "invalid TOML"),
    ],
)
def test_bad_vocabulary_files_name_the_file(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    path = tmp_path / f"vocab{suffix}"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        Vocabulary.load(path)
    assert str(path) in str(info.value)


def test_label_states_parse_leniently_and_refuse_unknown() -> None:
    assert LabelState.parse("Not mentioned") is LabelState.NOT_MENTIONED
    assert LabelState.parse("PRESENT") is LabelState.PRESENT
    with pytest.raises(InputError, match="expected one of: present, absent, uncertain, not_mentioned"):
        LabelState.parse("positive")


def test_settings_round_trip_and_presets(tmp_path: Path) -> None:
    demo = settings.preset("demo")
    path = tmp_path / "radcurate.toml"
    path.write_text(settings.render(demo))
    assert settings.load(path) == demo
    assert settings.preset("paper").preprocessing.shape == (192, 192, 96)
    with pytest.raises(InputError, match="unknown preset"):
        settings.preset("huge")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("[preprocessing]\nspacing = [1.0, 2.0]\n", "preprocessing.spacing"),
        ("[llm]\napi_key = 'sk-123'\n", "llm.api_key"),
        ("[llm]\nconcurrency = 'many'\n", "llm.concurrency"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "radcurate.toml"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        settings.load(path)
    assert info.value.field == field and str(path) in str(info.value)
