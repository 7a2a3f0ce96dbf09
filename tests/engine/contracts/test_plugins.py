"""Plugin discovery: built-ins load through entry points; a broken plugin is named and skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from radcurate.engine.contracts import plugins
from radcurate.engine.errors import PluginError


def install_fake_distribution(site: Path, name: str, entry_points: str, modules: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info + modules) into ``site``.

    importlib.metadata finds it once ``site`` is on sys.path, exactly as it finds a pip-installed
    third-party plugin.
    """
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)


BROKEN = """
[radcurate.extractors]
crashes_on_import = broken_plugin_import:Extractor
no_extract_method = broken_plugin_contract:Extractor
[radcurate.loaders]
missing_module = does_not_exist_anywhere:Loader
"""
MODULES = {
    "broken_plugin_import": "raise RuntimeError('boom at import')\n",
    "broken_plugin_contract": "class Extractor:\n    name = 'no_extract_method'\n    version = '1'\n",
}


@pytest.fixture
def broken_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    install_fake_distribution(site, "radcurate_broken_plugins", BROKEN, MODULES)
    monkeypatch.syspath_prepend(str(site))
    return site


def test_broken_plugins_are_reported_by_name_with_the_reason(broken_site: Path) -> None:
    found = {p.name: p for p in plugins.discover()}
    assert not found["crashes_on_import"].ok
    assert "boom at import" in (found["crashes_on_import"].reason or "")
    assert "missing extract" in (found["no_extract_method"].reason or "")
    assert "does_not_exist_anywhere" in (found["missing_module"].reason or "")
    assert found["crashes_on_import"].distribution == "radcurate_broken_plugins"


def test_broken_plugins_are_skipped_and_builtins_still_work(broken_site: Path) -> None:
    working = {p.name for p in plugins.working("extractors")}
    assert "crashes_on_import" not in working and "no_extract_method" not in working
    with pytest.raises(PluginError, match="broken: import failed"):
        plugins.create("extractors", "crashes_on_import")
    with pytest.raises(PluginError, match="no extractor plugin named 'nope'"):
        plugins.create("extractors", "nope")


def test_builtin_plugins_register_through_entry_points() -> None:
    names = {(p.group, p.name) for p in plugins.discover()}
    assert {("loaders", "dicom"), ("loaders", "nifti"), ("extractors", "rules"), ("extractors", "llm")} <= names


def test_cli_lists_broken_plugins_without_crashing(broken_site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken_site), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    listed = {p["name"]: p for p in json.loads(out.stdout)}
    assert listed["crashes_on_import"]["status"] == "broken"
    assert listed["crashes_on_import"]["group"] == "radcurate.extractors"
    assert "boom at import" in listed["crashes_on_import"]["reason"]
