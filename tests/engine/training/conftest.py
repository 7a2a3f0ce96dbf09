"""Fixtures for the learning tests: one tiny phantom cohort per session, a private copy per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.training import cohort


@pytest.fixture(scope="session")
def cohort_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("monai")
    return cohort.build(tmp_path_factory.mktemp("cohort"))


@pytest.fixture
def cohort_dir(cohort_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the tiny cohort project (train on it freely)."""
    return cohort.copy(cohort_template, tmp_path)
