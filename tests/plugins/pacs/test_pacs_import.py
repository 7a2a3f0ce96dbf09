"""Import from a real Orthanc through DICOMweb and DIMSE: the same volumes as a folder import of the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.project import Project
from tests.plugins.pacs.conftest import SR_TEXT, PacsCorpus, pacs_settings


def volumes_of(project: Project) -> dict[tuple[str, str], tuple]:
    """(study id, voxel checksum) → geometry: what "the same volumes" means."""
    rows = {}
    for study_id in project.study_ids():
        for s in project.series(study_id):
            rows[(study_id, s.checksum)] = (
                tuple(s.shape),
                tuple(s.spacing),
                tuple(map(tuple, s.affine)),
                s.orientation,
            )
    return rows


@pytest.fixture(scope="module")
def folder_import(tmp_path_factory: pytest.TempPathFactory, pacs: PacsCorpus) -> dict:
    """The corpus imported from its folder once: the reference every PACS import must equal."""
    with Project.create(tmp_path_factory.mktemp("folder") / "p", preset="demo") as project:
        summary = project.import_paths([pacs.volumes])
        assert summary.series == pacs.series and not summary.quarantined
        return volumes_of(project)


def test_dicomweb_import_gives_the_folder_import_volumes_and_the_sr_report(
    tmp_path: Path, pacs: PacsCorpus, pacs_env: None, folder_import: dict
) -> None:
    with Project.create(tmp_path / "web", preset="demo") as project:
        pacs_settings(project, pacs)
        summary = project.import_from_pacs(pacs.server.dicomweb_url, studies=list(pacs.study_uids.values()))
        assert summary.fetched == pacs.series + 1 and not summary.failed  # + the SR series
        assert summary.imported.series == pacs.series and not summary.imported.quarantined
        assert volumes_of(project) == folder_import
        assert summary.dicom_reports == 1
        assert project.report(pacs.sr_study).text.strip() == SR_TEXT
        again = project.import_from_pacs(pacs.server.dicomweb_url, studies=list(pacs.study_uids.values()))
        assert (again.fetched, again.reused) == (0, pacs.series + 1)
        assert again.imported.series == 0 and again.imported.unchanged >= pacs.series
        assert volumes_of(project) == folder_import


@pytest.mark.parametrize("retrieve", ["get", "move"])
def test_dimse_import_gives_the_folder_import_volumes(
    tmp_path: Path, pacs: PacsCorpus, folder_import: dict, retrieve: str
) -> None:
    with Project.create(tmp_path / "dimse", preset="demo") as project:
        pacs_settings(project, pacs, retrieve=retrieve)
        summary = project.import_from_pacs(pacs.server.dimse_url, query="ModalitiesInStudy=CT")
        assert not summary.failed, summary.failed
        assert summary.imported.series == pacs.series and not summary.imported.quarantined
        assert volumes_of(project) == folder_import
        assert project.report(pacs.sr_study).text.strip() == SR_TEXT


def test_reports_from_a_csv_keyed_by_accession_number_join_the_fetched_studies(
    tmp_path: Path, pacs: PacsCorpus, pacs_env: None
) -> None:
    reports = tmp_path / "reports.csv"
    reports.write_text("AccessionNumber,report_text\n03086212,FINDINGS: Liver dome unremarkable.\n", encoding="utf-8")
    with Project.create(tmp_path / "p", preset="demo") as project:
        pacs_settings(project, pacs)
        with pytest.raises(InputError, match="Accession"):  # a wrong column fails before anything is fetched
            project.import_from_pacs(
                pacs.server.dicomweb_url, studies=[pacs.study_uids["dcmqi"]], reports=[reports], id_column="Accession"
            )
        assert project.pacs_fetch_counts()["complete"] == 0
        summary = project.import_from_pacs(
            pacs.server.dicomweb_url, studies=[pacs.study_uids["dcmqi"]], reports=[reports], id_column="AccessionNumber"
        )
        assert summary.imported.reports == 1 and summary.imported.series == 1
        assert project.report("03086212").text.startswith("FINDINGS: Liver dome") and project.series("03086212")
