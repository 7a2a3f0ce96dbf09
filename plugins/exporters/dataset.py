"""The built-in ``dataset`` exporter: a curated, de-identified dataset folder (engine/export/dataset_export.py).

Registered in ``pyproject.toml`` under ``radcurate.exporters`` like any third-party exporter; a
site-specific exporter (say, to a PACS research archive) implements the same
:class:`~radcurate.engine.contracts.plugins.DatasetExporter` contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from radcurate.engine.export.dataset_export import export_dataset


class CuratedDatasetExporter:
    """Labels with provenance, patient-level splits, NIfTI or de-identified DICOM, datalist, manifest."""

    name = "dataset"
    version = "1.0.0"

    def export(self, project: Any, out: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options``: format (nifti|dicom), splits ("0.8,0.1,0.1"), seed, deidentify, overwrite, progress."""
        known = {"format", "splits", "seed", "deidentify", "overwrite", "progress"}
        given = {k: v for k, v in options.items() if k in known and v is not None}
        return {"exporter": self.name, "exporter_version": self.version, **export_dataset(project, out, **given)}
