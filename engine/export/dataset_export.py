"""``radcurate export-dataset``: a curated, de-identified dataset folder, written atomically.

Layout of ``OUT`` (DESIGN §4 Curated export)::

    README.md          the datasheet: what is in it, where the labels came from, how it was split
    manifest.json      counts, label-snapshot hash, options, sha256 of every other file
    datalist.json      MONAI datalist: {"training"|"validation"|"test": [{"image", "label", ...}]}
    labels.jsonl       one line per study: every finding with state, provenance, evidence, readers
    labels.csv         the same, one row per study and finding (long form)
    labels_wide.csv    study, patient, split, one training target per finding (1 / 0 / -1 masked)
    reports/<S>.txt    the report text (scrubbed unless --no-deidentify)
    volumes/<S>.nii.gz HU volume (int16, RAS affine as NIfTI wants), or volumes/<S>/NNNN.dcm

Everything is written into a hidden sibling folder and renamed into place last, so a kill leaves
either no dataset or the previous one, never half of one. With de-identification (the default)
study and patient ids become keyed pseudonyms (:mod:`.dataset_splits`), reports and evidence
quotes go through the PHI scrubber with the study's own DICOM header identifiers, and DICOM goes
through dicognito (:mod:`.deidentify_dicom`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine import __version__
from radcurate.engine.errors import InputError
from radcurate.engine.export import dataset_datasheet
from radcurate.engine.export.dataset_records import FindingRecord, StudyRecord, snapshot_hash, study_records
from radcurate.engine.export.dataset_splits import (
    SPLIT_NAMES,
    parse_fractions,
    patient_split,
    pseudonym,
    pseudonym_key,
    recorded_split,
)
from radcurate.engine.files.atomic import write_text
from radcurate.engine.files.deidentify_text import Identifier, header_identifiers, scrub
from radcurate.engine.store.database import utc_now

FORMATS = ("nifti", "dicom")
DEFAULT_FRACTIONS = "0.8,0.1,0.1"
Progress = Callable[[int, int], None]


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_nifti(volume: Any, path: Path) -> None:
    """HU volume (LPS array axes and affine) → NIfTI (the same voxels, affine to RAS as NIfTI defines)."""
    import nibabel as nib

    lps_to_ras = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine = lps_to_ras @ np.asarray(volume.affine, dtype=float)
    data = np.asarray(volume.array)
    if np.all(np.isfinite(data)) and data.min() >= -32768 and data.max() <= 32767:
        data = np.rint(data).astype(np.int16)
    else:
        data = data.astype(np.float32)
    image = nib.Nifti1Image(np.ascontiguousarray(data), affine)
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, str(path))


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _identifiers(record: StudyRecord, project: Any) -> list[Identifier]:
    files = [s.files[0] for s in project.series(record.study_id) if s.loader == "dicom" and s.files]
    found = header_identifiers(files)
    return [*found, Identifier("ID", record.study_id), Identifier("ID", record.patient_id)]


def _finding_out(f: FindingRecord, report: str | None, idents: list[Identifier] | None) -> dict[str, Any]:
    data = f.as_json()
    if idents is not None and f.evidence:
        quote = scrub(f.evidence, idents).text
        data["evidence"] = quote
        start = report.find(quote) if report else -1
        data["evidence_start"], data["evidence_end"] = (start, start + len(quote)) if start >= 0 else (None, None)
    return data


def _prepare(out: Path, overwrite: bool) -> Path:
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", path=out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError("folder is not empty; choose a new one or pass --overwrite", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".partial-{out.name}-{secrets.token_hex(4)}"
    staging.mkdir()
    return staging


def _put_in_place(staging: Path, out: Path) -> None:
    if out.exists():
        old = out.parent / f".old-{out.name}-{secrets.token_hex(4)}"
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)


def export_dataset(
    project: Any,
    out: Path,
    *,
    format: str = "nifti",
    splits: str | None = None,
    seed: int = 0,
    deidentify: bool = True,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the project's curated dataset to ``out``; returns the manifest (without file hashes)."""
    if format not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}", field="format")
    fixed = recorded_split(project.db) if splits is None else {}
    fractions = parse_fractions(splits or DEFAULT_FRACTIONS)
    records = study_records(project)
    if not records:
        raise InputError("nothing to export: no study has a label yet (run `radcurate extract`)", path=project.path)
    out = Path(out).expanduser().resolve()
    staging = _prepare(out, overwrite)
    try:
        manifest = _write_all(project, records, staging, format, (fractions, fixed), seed, deidentify, progress)
        _put_in_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {**{k: v for k, v in manifest.items() if k != "files"}, "out": str(out), "files": len(manifest["files"])}


def _write_all(
    project: Any,
    records: list[StudyRecord],
    root: Path,
    fmt: str,
    split_plan: tuple[tuple[float, float, float], dict[str, str]],
    seed: int,
    deidentify: bool,
    progress: Progress | None,
) -> dict[str, Any]:
    key = pseudonym_key(project.path) if deidentify else b""
    study_name = {r.study_id: pseudonym(key, "study", r.study_id) if deidentify else r.study_id for r in records}
    patient_name = {
        r.patient_id: pseudonym(key, "patient", r.patient_id) if deidentify else r.patient_id for r in records
    }
    fractions, fixed = split_plan
    split_of = patient_split({r.study_id: r.patient_id for r in records}, fractions, seed, fixed)
    anonymizer = None
    if fmt == "dicom" and deidentify:
        from radcurate.engine.export.deidentify_dicom import make_anonymizer

        anonymizer = make_anonymizer(key)
    (root / "reports").mkdir()
    (root / "volumes").mkdir()
    findings = list(project.vocabulary)
    datalist: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLIT_NAMES}
    jsonl, long_rows, wide_rows = (
        [],
        [
            [
                "study",
                "patient",
                "split",
                "finding",
                "state",
                "target",
                "origin",
                "consensus",
                "source",
                "readers",
                "evidence",
            ]
        ],
        [["study", "patient", "split", *findings]],
    )
    scrubbed_spans = 0
    for done, record in enumerate(records, start=1):
        sid, pid, split = study_name[record.study_id], patient_name[record.patient_id], split_of[record.study_id]
        idents = _identifiers(record, project) if deidentify else None
        report = record.report
        if report is not None and idents is not None:
            result = scrub(report, idents)
            report, scrubbed_spans = result.text, scrubbed_spans + result.replaced
        entry: dict[str, Any] = {"study": sid, "patient": pid}
        if report is not None:
            write_text(root / "reports" / f"{sid}.txt", report)
            entry["report"] = f"reports/{sid}.txt"
        image_format = _write_volume(project, record, root, fmt, sid, pid, anonymizer)
        if image_format:
            entry["image"] = f"volumes/{sid}.nii.gz" if image_format == "nifti" else f"volumes/{sid}"
        outs = [_finding_out(f, report, idents) for f in record.findings]
        by_name = {o["finding"]: o for o in outs}
        entry["label"] = [by_name[n]["target"] if n in by_name else -1 for n in findings]
        datalist[split].append(entry)
        jsonl.append(
            json.dumps({"study": sid, "patient": pid, "split": split, "image_format": image_format, "findings": outs})
        )
        for o in outs:
            prov = o["provenance"]
            long_rows.append(
                [
                    sid,
                    pid,
                    split,
                    o["finding"],
                    o["state"] or "",
                    o["target"],
                    o["origin"],
                    prov.get("consensus") or "",
                    prov.get("adjudicator") or prov.get("source") or "",
                    json.dumps(o["readers"]) if o["readers"] else "",
                    o["evidence"] or "",
                ]
            )
        wide_rows.append([sid, pid, split, *entry["label"]])
        if progress:
            progress(done, len(records))
    write_text(root / "datalist.json", json.dumps(datalist, indent=2) + "\n")
    write_text(root / "labels.jsonl", "\n".join(jsonl) + "\n")
    write_text(root / "labels.csv", _csv(long_rows))
    write_text(root / "labels_wide.csv", _csv(wide_rows))
    manifest = _manifest(project, records, split_of, fmt, fractions, seed, deidentify, findings, scrubbed_spans)
    manifest["splits"]["source"] = "recorded by training (kept), the rest drawn" if fixed else "drawn"
    write_text(root / "README.md", dataset_datasheet.render(manifest, project))
    manifest["files"] = {str(p.relative_to(root)): _sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
    write_text(root / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def _write_volume(
    project: Any, record: StudyRecord, root: Path, fmt: str, sid: str, pid: str, anonymizer: Any
) -> str | None:
    """Write the study's volume; returns the format written (NIfTI where DICOM cannot be), or None."""
    if record.series_id is None:
        return None
    if fmt == "dicom" and record.loader == "dicom":
        if anonymizer is not None:
            from radcurate.engine.export.deidentify_dicom import deidentify_series

            deidentify_series(record.files, root / "volumes" / sid, anonymizer, study=sid, patient=pid)
        else:
            target = root / "volumes" / sid
            target.mkdir()
            for i, source in enumerate(sorted(record.files), start=1):
                shutil.copyfile(source, target / f"{i:04d}.dcm")
        return "dicom"
    _write_nifti(project.load_volume(record.series_id), root / "volumes" / f"{sid}.nii.gz")
    return "nifti"


def _manifest(
    project: Any,
    records: list[StudyRecord],
    split_of: dict[str, str],
    fmt: str,
    fractions: tuple[float, float, float],
    seed: int,
    deidentify: bool,
    findings: list[str],
    scrubbed_spans: int,
) -> dict[str, Any]:
    origins: dict[str, int] = {}
    states: dict[str, dict[str, int]] = {f: {} for f in findings}
    adjudicated = differ = 0
    for r in records:
        for f in r.findings:
            kind = str(f.provenance.get("kind"))
            origins[kind] = origins.get(kind, 0) + 1
            adjudicated += f.provenance.get("consensus") == "adjudicated"
            differ += f.readers_differ
            states[f.finding][f.state or "none"] = states[f.finding].get(f.state or "none", 0) + 1
    splits = {name: sum(1 for s in split_of.values() if s == name) for name in SPLIT_NAMES}
    return {
        "dataset": "radcurate curated chest CT dataset",
        "radcurate_version": __version__,
        "created_at": utc_now(),
        "format": fmt,
        "deidentified": deidentify,
        "splits": {"fractions": list(fractions), "seed": seed, "unit": "patient"},
        "vocabulary": findings,
        "label_snapshot": snapshot_hash(records),
        "counts": {
            "studies": len(records),
            "patients": len({r.patient_id for r in records}),
            "splits": splits,
            "origins": origins,
            "adjudicated": adjudicated,
            "readers_differ": differ,
            "states": states,
            "scrubbed_spans": scrubbed_spans,
        },
    }


def verify(out: Path) -> list[str]:
    """Files whose sha256 no longer matches ``manifest.json`` (or that are missing); empty = intact."""
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    bad = [
        name
        for name, digest in manifest["files"].items()
        if not (out / name).is_file() or _sha256(out / name) != digest
    ]
    listed = set(manifest["files"]) | {"manifest.json"}
    bad += [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and str(p.relative_to(out)) not in listed]
    return bad
