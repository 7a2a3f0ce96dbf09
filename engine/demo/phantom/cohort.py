"""Build a synthetic phantom cohort on disk: volumes, reports and the truth behind both.

Layout under ``out``::

    volumes/phantom_0001/0001.dcm ...   a DICOM CT series (one file per slice, shuffled names)
    volumes/phantom_0002.nii.gz         a NIfTI volume (int16 HU)
    reports.csv                         study_id,report_text (RFC 4180, UTF-8)
    report_mentions.jsonl               each report's finding mentions: stated state, section, offsets
                                        into the text in reports.csv (no text here, so an import of the
                                        cohort folder finds exactly one report table)
    truth.csv                           study_id + one 0/1 column per CT-RATE finding: what is drawn
    report_truth.csv                    study_id + per finding: present/absent/uncertain/not_mentioned
    volumes.csv                         study_id, file, format, transfer syntax, geometry, checksum
    phantom.json                        the parameters, so the cohort can be regenerated exactly

The study id is the case id (``phantom_0001``), which is also each DICOM series'
AccessionNumber and each NIfTI file's stem, so reports link to volumes the way real imports do.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine import __version__
from radcurate.engine.demo.phantom.cases import DEFAULT_SHAPE, DEFAULT_SPACING, CaseSpec, plan_case, render_case
from radcurate.engine.demo.phantom.reports import PhantomReport, compose_report
from radcurate.engine.demo.phantom.writers import COMPRESSED, UNCOMPRESSED, write_dicom_series, write_nifti
from radcurate.engine.errors import InputError
from radcurate.engine.vocabulary import CT_RATE_FINDINGS
from radcurate.engine.volumes.volume import content_checksum

_OUTPUTS = (
    "volumes",
    "reports.csv",
    "report_mentions.jsonl",
    "truth.csv",
    "report_truth.csv",
    "volumes.csv",
    "phantom.json",
)


@dataclass(frozen=True)
class CohortSummary:
    """What :func:`generate_cohort` wrote."""

    out: Path
    cases: int
    seed: int
    n_dicom: int
    n_nifti: int
    reports_path: Path
    truth_path: Path
    findings_drawn: list[str]  # findings shown by at least one case, CT-RATE order
    report_truth_path: Path | None = None
    volumes_path: Path | None = None
    prevalence: dict[str, int] = field(default_factory=dict)  # cases per finding
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def plan_cohort(
    cases: int,
    seed: int,
    *,
    shape: Sequence[int] = DEFAULT_SHAPE,
    spacing: Sequence[float] = DEFAULT_SPACING,
    dicom_fraction: float = 0.5,
    compressed_fraction: float = 0.5,
) -> list[CaseSpec]:
    """The specs of a cohort: findings per case, and which cases are DICOM (and how encoded).

    Case ``i``'s anatomy, findings and report depend only on ``(seed, i)``; the split into
    DICOM/NIfTI and the encodings are exact counts (rounded), spread at random over the cases.
    """
    _check(cases, shape, spacing, dicom_fraction, compressed_fraction)
    rng = np.random.default_rng([seed, 7919])
    n_dicom = int(round(cases * dicom_fraction))
    dicom = sorted(int(i) for i in rng.permutation(cases)[:n_dicom])
    compressed = set(dicom[i] for i in rng.permutation(n_dicom)[: int(round(n_dicom * compressed_fraction))])
    specs = []
    for i in range(cases):
        spec = plan_case(seed, i, shape=tuple(shape), spacing=tuple(spacing))  # type: ignore[arg-type]
        if i in dicom:
            pool = COMPRESSED if i in compressed else UNCOMPRESSED
            n = dicom.index(i)
            spec = replace(
                spec, volume_format="dicom", transfer_syntax=str(pool[n % 2]), signed_pixels=bool(n // 2 % 2)
            )
        else:
            spec = replace(spec, volume_format="nifti", nifti_axes="RAS" if rng.random() < 0.5 else "LPS")
        specs.append(spec)
    return specs


def _check(cases: int, shape: Sequence[int], spacing: Sequence[float], dicom: float, compressed: float) -> None:
    if int(cases) < 1:
        raise InputError(f"need at least one case, got {cases}", field="cases")
    if len(shape) != 3 or min(shape[:2]) < 16 or shape[2] < 8:
        raise InputError(f"shape must be three sizes, at least 16×16×8 voxels, got {tuple(shape)}", field="shape")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise InputError(f"spacing must be three positive sizes in mm, got {tuple(spacing)}", field="spacing")
    for name, value in (("dicom_fraction", dicom), ("compressed_fraction", compressed)):
        if not 0.0 <= value <= 1.0:
            raise InputError(f"must be between 0 and 1, got {value}", field=name)


def _prepare(out: Path, overwrite: bool) -> None:
    """Make ``out`` ready: new or empty, or (with ``overwrite``) a previous phantom cohort."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", path=out)
    if out.exists() and any(out.iterdir()):
        if not (out / "phantom.json").is_file():
            raise InputError("folder is not empty and holds no phantom cohort; choose an empty folder", path=out)
        if not overwrite:
            raise InputError("already holds a phantom cohort; pass --overwrite to replace it", path=out)
        for name in _OUTPUTS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    (out / "volumes").mkdir(parents=True, exist_ok=True)


def _write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (temp file in the same folder, then rename)."""
    partial = path.with_name(f".partial-{path.name}")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(partial, path)


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # RFC 4180: CRLF records, quotes only where needed
    return buffer.getvalue()


def write_case(spec: CaseSpec, volumes: Path) -> tuple[str, np.ndarray]:
    """Render one case and write its volume under ``volumes``; returns (relative path, HU array)."""
    hu = render_case(spec)
    if spec.volume_format == "dicom":
        write_dicom_series(hu, spec, volumes / spec.case_id)
        return f"volumes/{spec.case_id}", hu
    write_nifti(hu, spec, volumes / f"{spec.case_id}.nii.gz")
    return f"volumes/{spec.case_id}.nii.gz", hu


def generate_cohort(
    out: Path,
    cases: int,
    seed: int,
    *,
    shape: Sequence[int] = DEFAULT_SHAPE,
    spacing: Sequence[float] = DEFAULT_SPACING,
    dicom_fraction: float = 0.5,
    compressed_fraction: float = 0.5,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CohortSummary:
    """Write a cohort of ``cases`` phantom studies to ``out`` (see the module docstring).

    Parameters
    ----------
    shape, spacing
        Voxels and mm along LPS x, y, z; the torso scales to fill the field of view.
    dicom_fraction
        Share of cases written as DICOM series (the rest NIfTI).
    compressed_fraction
        Share of the DICOM series written RLE Lossless / JPEG 2000 Lossless.
    overwrite
        Replace a previous phantom cohort in ``out`` (any other non-empty folder is refused).
    progress
        Called as ``progress(done, total)`` after each case.
    """
    import time

    started = time.perf_counter()
    out = Path(out)
    specs = plan_cohort(
        cases,
        seed,
        shape=shape,
        spacing=spacing,
        dicom_fraction=dicom_fraction,
        compressed_fraction=compressed_fraction,
    )
    _prepare(out, overwrite)
    reports: list[PhantomReport] = []
    volume_rows: list[list[Any]] = [
        [
            "study_id",
            "path",
            "format",
            "transfer_syntax",
            "nifti_axes",
            "pixel_representation",
            "shape",
            "spacing",
            "origin",
            "checksum",
        ]
    ]
    for done, spec in enumerate(specs, start=1):
        path, hu = write_case(spec, out / "volumes")
        reports.append(compose_report(spec))
        checksum = content_checksum(hu, spec.spacing, spec.affine)
        geometry = [" ".join(f"{v:g}" for v in values) for values in (spec.shape, spec.spacing, spec.origin)]
        is_dicom = spec.volume_format == "dicom"
        volume_rows.append(
            [spec.case_id, path, spec.volume_format, spec.transfer_syntax, "" if is_dicom else spec.nifti_axes,
             int(spec.signed_pixels) if is_dicom else "", *geometry, checksum]
        )  # fmt: skip
        if progress is not None:
            progress(done, len(specs))
    _write_outputs(out, specs, reports, volume_rows)
    prevalence = {name: sum(spec.truth[name] for spec in specs) for name in CT_RATE_FINDINGS}
    _write_text(
        out / "phantom.json",
        json.dumps(
            {
                "generator": "radcurate phantom",
                "version": __version__,
                "cases": cases,
                "seed": seed,
                "shape": list(specs[0].shape),
                "spacing": list(specs[0].spacing),
                "dicom_fraction": dicom_fraction,
                "compressed_fraction": compressed_fraction,
                "prevalence": prevalence,
            },
            indent=2,
        )
        + "\n",
    )
    n_dicom = sum(spec.volume_format == "dicom" for spec in specs)
    return CohortSummary(
        out=out,
        cases=cases,
        seed=seed,
        n_dicom=n_dicom,
        n_nifti=cases - n_dicom,
        reports_path=out / "reports.csv",
        truth_path=out / "truth.csv",
        findings_drawn=[name for name in CT_RATE_FINDINGS if prevalence[name]],
        report_truth_path=out / "report_truth.csv",
        volumes_path=out / "volumes.csv",
        prevalence=prevalence,
        seconds=round(time.perf_counter() - started, 3),
    )


def _write_outputs(
    out: Path, specs: list[CaseSpec], reports: list[PhantomReport], volume_rows: list[list[Any]]
) -> None:
    header = ["study_id", *CT_RATE_FINDINGS]
    _write_text(out / "reports.csv", _csv([["study_id", "report_text"], *[[r.study_id, r.text] for r in reports]]))
    _write_text(out / "truth.csv", _csv([header, *[[s.case_id, *s.truth.values()] for s in specs]]))
    _write_text(
        out / "report_truth.csv",
        _csv([header, *[[r.study_id, *(r.states[n].value for n in CT_RATE_FINDINGS)] for r in reports]]),
    )
    _write_text(out / "volumes.csv", _csv(volume_rows))
    lines = []
    for report in reports:
        mentions = [
            {"finding": m.finding, "state": m.state.value, "section": m.section, "start": m.start, "end": m.end}
            for m in report.mentions
        ]
        record = {"study_id": report.study_id, "mentions": mentions}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    _write_text(out / "report_mentions.jsonl", "".join(lines))
