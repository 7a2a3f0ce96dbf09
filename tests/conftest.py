"""Shared fixtures: a fresh project folder, paths to the real third-party data in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from radcurate.engine.project import Project
from radcurate.engine.store import decisions, studies

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The real test data folder; tests needing it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (see DESIGN §8)")
    return SHARED_DATA


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A fresh, empty project (default vocabulary, demo preset)."""
    with Project.create(tmp_path / "project", preset="demo") as p:
        yield p


def add_studies(project: Project, reports: dict[str, str]) -> None:
    """Put studies with their report texts straight into the store (for tests not about ingest)."""
    with decisions.write_transaction(project.db):
        for study_id, text in reports.items():
            studies.ensure_study(project.db, study_id)
            if text:
                studies.upsert_report(project.db, study_id, text, source="test")


@pytest.fixture
def project_with_studies(project: Project) -> Project:
    """A project with three studies and short reports."""
    add_studies(
        project,
        {
            "s1": "FINDINGS: Bilateral pleural effusion. No nodule.",
            "s2": "FINDINGS: Normal study.",
            "s3": "IMPRESSION: Cardiomegaly.",
        },
    )
    return project


# ---- LLM path: a real OpenAI-compatible server on loopback (tests/llm_server.py)
LLM_TEST_KEY = "sk-radcurate-test-9f3c1b7e5d2a4680"


@pytest.fixture
def llm_server(monkeypatch: pytest.MonkeyPatch):
    """A fresh loopback server (127.0.0.1, ephemeral port) and the API key exported as OPENAI_API_KEY."""
    from tests.llm_server import serve

    monkeypatch.setenv("OPENAI_API_KEY", LLM_TEST_KEY)
    with serve(LLM_TEST_KEY) as server:
        yield server


# ---- running in parallel (CI, Makefile `test`: `-m gui` alone, then `-m "not gui" -n 2 --dist loadgroup`)
#: Every test under tests/desktop/ or tests/packaging/ counts as a GUI test (its waits are timed and
#: it shares the display), so CI runs them alone and in order; PACS tests share one worker, which
#: starts one Orthanc for them all.
_GUI_FOLDERS = {"desktop", "packaging"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(REPO).parts if item.path.is_relative_to(REPO) else ()
        folders = set(parts[:-1])
        if folders & _GUI_FOLDERS and item.get_closest_marker("gui") is None:
            item.add_marker(pytest.mark.gui)
        if "pacs" in folders:
            item.add_marker(pytest.mark.xdist_group("orthanc"))
