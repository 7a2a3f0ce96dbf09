"""A folder holding a DICOMDIR (pydicom's bundled ``dicomdirtests`` export) is read through its index.

Files the index lists but the folder lacks are quarantined naming the DICOMDIR and the missing
file; the series that are complete import as usual.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom.data
import pytest

from radcurate.engine.project import Project
from radcurate.plugins.loaders.dicom.series import DicomSeriesLoader

EXPORT = Path(pydicom.data.get_testdata_file("dicomdirtests/DICOMDIR")).parent  # type: ignore[arg-type]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """The export with the last CT5N slice and one MR file deleted (a half-copied CD)."""
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder, ignore=shutil.ignore_patterns("DICOMDIR-*", "TINY_ALPHA", "README.txt"))
    (folder / "98892001" / "CT5N" / "3353").unlink()
    (folder / "98892003" / "MR700" / "4648").unlink()
    return folder


def test_missing_files_are_quarantined_naming_the_dicomdir_and_the_file(project: Project, export: Path) -> None:
    summary = project.import_paths([export])
    missing = {q.path: q for q in summary.quarantined if q.field == "ReferencedFileID"}
    assert set(missing) == {str(export / "98892001" / "CT5N" / "3353"), str(export / "98892003" / "MR700" / "4648")}
    for record in missing.values():
        assert f"listed in DICOMDIR {export / 'DICOMDIR'}" in record.reason and "the file is missing" in record.reason
    assert str(export / "DICOMDIR") not in {q.path for q in summary.quarantined}  # the index itself is not a problem
    shapes = [list(s.shape) for sid in project.study_ids() for s in project.series(sid)]
    assert [16, 16, 4] in shapes  # CT5N, four of its five slices, 2.5 mm apart


def test_the_index_alone_finds_the_series(export: Path) -> None:
    loader = DicomSeriesLoader()
    found = loader.discover([export / "DICOMDIR"])  # only the index is given: its files come through it
    ct5n = [s for s in found.sources if any("CT5N" in f for f in s.files)]
    assert len(ct5n) == 1 and len(ct5n[0].files) == 4
    assert loader.load(ct5n[0]).shape == (16, 16, 4)
    assert {r.field for r in found.rejected} >= {"ReferencedFileID"}


def test_an_unreadable_dicomdir_is_refused_by_name(export: Path) -> None:
    (export / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x00\x00garbage")
    found = DicomSeriesLoader().discover([export / "DICOMDIR"])
    assert [(r.path, r.field) for r in found.rejected] == [(str(export / "DICOMDIR"), "DirectoryRecordSequence")]
    assert found.rejected[0].reason.startswith("unreadable DICOMDIR")
