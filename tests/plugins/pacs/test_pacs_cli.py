"""``radcurate import DIR <PACS URL>`` on the command line: JSON summary, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.pacs.conftest import PacsCorpus
from tests.plugins.pacs.orthanc_server import PASSWORD, USER


def radcurate(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "radcurate.engine.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.mark.slow
def test_cli_imports_a_study_from_the_pacs_and_says_what_it_fetched(tmp_path: Path, pacs: PacsCorpus) -> None:
    project = str(tmp_path / "p")
    assert radcurate("init", project).returncode == 0
    creds = {"RADCURATE_PACS_USER": USER, "RADCURATE_PACS_PASSWORD": PASSWORD}
    url = pacs.server.dicomweb_url
    done = radcurate("import", project, url, "--study", pacs.study_uids["dcmqi"], "--json", **creds)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["series"]["fetched"] == 1 and summary["imported"]["series"] == 1 and summary["source"] == url
    refused = radcurate("import", project, url, **creds)  # no --study, no --query: never the whole PACS
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "--study UID" in refused.stderr
    denied = radcurate(
        "import", project, url, "--study", "1.2.3", RADCURATE_PACS_USER=USER, RADCURATE_PACS_PASSWORD="x"
    )
    assert denied.returncode == 1 and "refused our credentials" in denied.stderr and "Traceback" not in denied.stderr
