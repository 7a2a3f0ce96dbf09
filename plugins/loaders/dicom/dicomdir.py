"""A folder that holds a DICOMDIR is read through it (pydicom's ``FileSet``).

A DICOMDIR is the index a CD/DVD or PACS export writes beside its images: patient → study →
series → image records, each naming its file by ReferencedFileID (``IMAGES/IM0001``, file
names often without an extension). Reading the index tells the loader which files belong to the
export even when the walk was given only the DICOMDIR, and — what a folder walk cannot — which
files the export *should* hold but does not: each of those is rejected naming the DICOMDIR and
the missing file (keyword ReferencedFileID), so an export copied without half its files never
imports "nothing" in silence.
"""

from __future__ import annotations

import os
from pathlib import Path

import pydicom

from radcurate.engine.contracts.plugins import Rejection

DICOMDIR_NAME = "dicomdir"
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


def is_dicomdir(path: Path) -> bool:
    """A file named DICOMDIR (any case), the name the standard gives the index."""
    return path.name.lower() == DICOMDIR_NAME


def read_dicomdir(path: Path) -> tuple[list[Path], list[Rejection]]:
    """(files the DICOMDIR lists that exist, a rejection per listed file that does not).

    An unreadable DICOMDIR is one rejection naming it; the files beside it are still offered to
    the loaders by the folder walk.
    """
    import warnings

    from pydicom.fileset import FileSet

    try:
        index = pydicom.dcmread(str(path))
        with warnings.catch_warnings():  # FileSet warns of, then drops, records whose file is missing
            warnings.simplefilter("ignore")
            fileset = FileSet(index)
    except Exception as exc:  # pydicom raises many types for a damaged index
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return [], [Rejection(str(path), "DirectoryRecordSequence", f"unreadable DICOMDIR: {reason}")]
    root = Path(fileset.path) if fileset.path else path.parent
    present = [Path(instance.path) for instance in fileset if Path(instance.path).is_file()]
    known = {str(p) for p in present}
    missing: list[Rejection] = []
    for record in index.get("DirectoryRecordSequence", []):
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [str(file_id)] if isinstance(file_id, str) else [str(v) for v in file_id]
        listed = root.joinpath(*parts)
        if str(listed) in known or listed.is_file():
            continue
        kind = str(record.get("DirectoryRecordType", "IMAGE")).lower()
        modality = str(record.get("Modality", "") or "")
        what = f"{modality} {kind}" if modality else kind
        missing.append(
            Rejection(
                str(listed),
                "ReferencedFileID",
                f"listed in DICOMDIR {path} as {os.path.relpath(listed, root)} ({what} record) but the file is missing",
            )
        )
    return present, missing
