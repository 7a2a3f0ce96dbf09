"""PACS faults against the real Orthanc: it goes away mid-import and comes back; 503s and cut links are retried."""

from __future__ import annotations

from pathlib import Path

import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.project import Project
from tests.plugins.pacs.conftest import PacsCorpus, pacs_settings
from tests.plugins.pacs.fault_proxy import fault_proxy
from tests.plugins.pacs.orthanc_server import PASSWORD
from tests.plugins.pacs.test_pacs_import import volumes_of


def test_orthanc_killed_mid_series_then_back_the_rerun_fetches_only_what_is_missing(
    tmp_path: Path, pacs: PacsCorpus, pacs_env: None
) -> None:
    studies = list(pacs.study_uids.values())
    with Project.create(tmp_path / "p", preset="demo") as project:
        pacs_settings(project, pacs, retries=1, give_up_after=2)
        fetched_first: list[str] = []

        def kill_in_second_series(event) -> None:
            if event.kind == "fetched":
                fetched_first.append(event.series.series_uid)
            if event.kind == "instance" and len(fetched_first) == 1:
                pacs.server.kill()  # mid-transfer (a tiny series may still arrive whole: it was in flight)

        try:
            first = project.import_from_pacs(pacs.server.dicomweb_url, studies=studies, progress=kill_in_second_series)
        finally:
            pacs.server.start()
        done = first.fetched
        assert done in (1, 2) and first.stopped and len(first.failed) == 2  # give_up_after=2, then stop
        assert first.imported.series + first.dicom_reports == done  # what was complete is imported at once
        problems = [q for q in project.quarantine("import") if q.field == "SeriesInstanceUID"]
        assert len(problems) == 2
        for failed, problem in zip(first.failed, problems, strict=True):  # named by study and series UID
            assert failed["series_uid"] in problem.path and failed["study_uid"] in problem.reason
        assert not any((project.path / "cache" / "pacs" / ".partial").iterdir())  # no half series kept

        seen: list[tuple[str, str]] = []
        second = project.import_from_pacs(
            pacs.server.dicomweb_url,
            studies=studies,
            progress=lambda e: seen.append((e.kind, getattr(e.series, "series_uid", ""))),
        )
        assert second.reused == done and all(("reused", uid) in seen for uid in fetched_first)
        assert not any(("start", uid) in seen for uid in fetched_first)  # completed series are not fetched again
        assert second.fetched == pacs.series + 1 - done and not second.failed and not second.stopped
        rows = project.db.execute("SELECT count(*), count(DISTINCT checksum) FROM series").fetchone()
        assert rows == (pacs.series, pacs.series)  # nothing duplicated
        assert project.pacs_fetch_counts() == {"complete": pacs.series + 1, "fetching": 0, "failed": 0}
        assert len(volumes_of(project)) == pacs.series


def test_a_503_and_a_link_cut_mid_series_are_retried_with_backoff(
    tmp_path: Path, pacs: PacsCorpus, pacs_env: None
) -> None:
    study = pacs.study_uids["totalseg-j2k"]  # 6 instances, about 950 kB: the cut lands mid-series
    with fault_proxy(pacs.server.http_port, "/series/", ["503", "drop:400000"]) as proxy:
        url = f"dicomweb+http://127.0.0.1:{proxy.server_address[1]}/dicom-web"
        with Project.create(tmp_path / "p", preset="demo") as project:
            pacs_settings(project, pacs, retries=2)
            retries: list[str] = []
            summary = project.import_from_pacs(
                url, studies=[study], progress=lambda e: e.kind == "retry" and retries.append(e.message)
            )
    assert proxy.injected == ["503", "drop:400000"]
    # The cut stream ends like a short series: only the count the PACS announced (6) tells it apart.
    assert len(retries) == 2 and "HTTP 503" in retries[0] and "half-received series" in retries[1]
    assert summary.fetched == 1 and not summary.failed and summary.imported.series == 1


def test_wrong_credentials_fail_in_one_line_naming_the_pacs_and_no_secret_is_stored(
    tmp_path: Path, pacs: PacsCorpus, monkeypatch: pytest.MonkeyPatch, pacs_env: None
) -> None:
    with Project.create(tmp_path / "p", preset="demo") as project:
        pacs_settings(project, pacs)
        project.import_from_pacs(pacs.server.dicomweb_url, studies=[pacs.study_uids["dcmqi"]])
        monkeypatch.setenv("RADCURATE_PACS_PASSWORD", "wrong")
        with pytest.raises(InputError, match="refused our credentials") as err:
            project.import_from_pacs(pacs.server.dicomweb_url, studies=[pacs.study_uids["dcmqi"]])
        assert pacs.server.dicomweb_url in str(err.value)
        with pytest.raises(InputError, match="do not belong in the URL"):
            project.import_from_pacs(f"dicomweb+http://u:{PASSWORD}@127.0.0.1:{pacs.server.http_port}/dicom-web")
    stored = b"".join(p.read_bytes() for p in (tmp_path / "p").rglob("*") if p.is_file())
    assert PASSWORD.encode() not in stored
