"""The phantom cohort: deterministic files, valid DICOM/NIfTI geometry, findings visible where the
truth says, and reports that state the truth."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.uid import UID, JPEG2000Lossless, RLELossless

from radcurate.engine.demo.phantom.cases import CaseSpec, draw_case, plan_case, render_case, sample_findings
from radcurate.engine.demo.phantom.cohort import generate_cohort, plan_cohort
from radcurate.engine.demo.phantom.findings import DRAWERS
from radcurate.engine.demo.phantom.reports import compose_report
from radcurate.engine.demo.phantom.writers import write_nifti
from radcurate.engine.errors import InputError
from radcurate.engine.vocabulary import CT_RATE_FINDINGS, LabelState
from radcurate.engine.volumes.volume import content_checksum

SEED = 11


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("phantom") / "cohort"
    calls: list[tuple[int, int]] = []
    summary = generate_cohort(
        out, 6, SEED, dicom_fraction=4 / 6, compressed_fraction=0.5, progress=lambda d, t: calls.append((d, t))
    )
    specs = {s.case_id: s for s in plan_cohort(6, SEED, dicom_fraction=4 / 6, compressed_fraction=0.5)}
    return summary, specs, calls


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read_series(folder: Path) -> tuple[np.ndarray, list[pydicom.Dataset], list[str]]:
    """Stack a series by ImagePositionPatient z into LPS (X, Y, Z) HU; also the datasets and file names."""
    names = sorted(p.name for p in folder.iterdir())
    datasets = [pydicom.dcmread(folder / n) for n in names]
    order = sorted(range(len(datasets)), key=lambda i: float(datasets[i].ImagePositionPatient[2]))
    slices = [datasets[i].pixel_array.astype(np.int32) * int(datasets[i].RescaleSlope) for i in order]
    hu = np.stack(slices, axis=-1).transpose(1, 0, 2) + int(datasets[0].RescaleIntercept)
    return hu, [datasets[i] for i in order], [names[i] for i in order]


# --------------------------------------------------------------------------- determinism, layout
def test_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    kwargs = {"shape": (40, 36, 24), "spacing": (9.0, 9.0, 12.0), "dicom_fraction": 0.5, "compressed_fraction": 1.0}
    generate_cohort(tmp_path / "a", 4, 3, **kwargs)
    generate_cohort(tmp_path / "b", 4, 3, **kwargs)
    generate_cohort(tmp_path / "c", 4, 4, **kwargs)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len(a) == 2 * 24 + 2 + 6  # two series of 24 slices, two NIfTI files, six tables
    assert a == b
    assert (tmp_path / "a" / "truth.csv").read_bytes() != (tmp_path / "c" / "truth.csv").read_bytes()
    assert sum(a[k] != c.get(k) for k in a) > len(a) // 2


def test_layout_and_counts(cohort) -> None:
    summary, specs, calls = cohort
    out = summary.out
    assert (summary.cases, summary.n_dicom, summary.n_nifti) == (6, 4, 2)
    assert calls == [(i, 6) for i in range(1, 7)]
    series = sorted(p.name for p in (out / "volumes").iterdir() if p.is_dir())
    niftis = sorted(p.name for p in (out / "volumes").glob("*.nii.gz"))
    assert len(series) == 4 and len(niftis) == 2
    assert all(len(list((out / "volumes" / s).iterdir())) == 40 for s in series)
    assert sorted(series + [n.removesuffix(".nii.gz") for n in niftis]) == [f"phantom_{i:04d}" for i in range(1, 7)]
    with open(summary.truth_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["study_id", *CT_RATE_FINDINGS]
    for row in rows[1:]:
        assert [int(v) for v in row[1:]] == list(specs[row[0]].truth.values())
    assert summary.findings_drawn == [f for f in CT_RATE_FINDINGS if any(s.truth[f] for s in specs.values())]
    manifest = json.loads((out / "phantom.json").read_text())
    assert manifest["seed"] == SEED and manifest["cases"] == 6


def test_refuses_a_folder_it_did_not_write_and_overwrites_only_when_asked(tmp_path: Path, cohort) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        generate_cohort(tmp_path, 1, 0)
    out = tmp_path / "cohort"
    generate_cohort(out, 1, 0, shape=(32, 28, 16))
    with pytest.raises(InputError, match="--overwrite"):
        generate_cohort(out, 1, 0)
    generate_cohort(out, 2, 1, shape=(32, 28, 16), overwrite=True)
    assert json.loads((out / "phantom.json").read_text())["cases"] == 2
    with pytest.raises(InputError) as err:
        generate_cohort(tmp_path / "x", 0, 0)
    assert err.value.field == "cases"


# --------------------------------------------------------------------------- DICOM
def test_dicom_series_are_valid_ct_with_the_rendered_pixels(cohort) -> None:
    summary, specs, _ = cohort
    with open(summary.volumes_path, newline="", encoding="utf-8") as handle:
        manifest = {row["study_id"]: row for row in csv.DictReader(handle)}
    syntaxes = set()
    for spec in specs.values():
        if spec.volume_format != "dicom":
            continue
        hu, datasets, names = _read_series(summary.out / "volumes" / spec.case_id)
        np.testing.assert_array_equal(hu, render_case(spec))
        assert manifest[spec.case_id]["checksum"] == content_checksum(hu.astype(np.int16), spec.spacing, spec.affine)
        first = datasets[0]
        syntaxes.add(first.file_meta.TransferSyntaxUID)
        assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and first.Modality == "CT"
        assert first.AccessionNumber == spec.case_id
        assert [float(v) for v in first.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        assert [float(v) for v in first.PixelSpacing] == [spec.spacing[1], spec.spacing[0]]
        assert (first.Rows, first.Columns) == (spec.shape[1], spec.shape[0])
        assert [float(v) for v in first.ImagePositionPatient] == pytest.approx(spec.origin, abs=1e-3)
        z = np.array([float(d.ImagePositionPatient[2]) for d in datasets])
        np.testing.assert_allclose(np.diff(z), spec.spacing[2], atol=1e-3)
        assert [int(d.InstanceNumber) for d in datasets] == list(range(40, 0, -1))
        assert names != sorted(names), "file names must not follow slice position"
        uids = {d.SOPInstanceUID for d in datasets}
        assert len(uids) == 40 and all(UID(u).is_valid for u in uids)
        assert len({(d.StudyInstanceUID, d.SeriesInstanceUID, d.FrameOfReferenceUID) for d in datasets}) == 1
        assert float(first.RescaleIntercept) == -1024 and first.BitsAllocated == 16
        assert (first.BitsStored, first.PixelRepresentation) in ((12, 0), (16, 1))
    assert {RLELossless, JPEG2000Lossless} <= syntaxes


# --------------------------------------------------------------------------- NIfTI
@pytest.mark.parametrize("axes", ["LPS", "RAS"])
def test_nifti_affine_maps_voxels_to_the_same_patient_points(tmp_path: Path, axes: str) -> None:
    spec = plan_case(SEED, 0, nifti_axes=axes)
    hu = render_case(spec)
    image = nib.load(write_nifti(hu, spec, tmp_path / f"{spec.case_id}.nii.gz"))
    assert "".join(nib.aff2axcodes(image.affine)) == axes
    assert image.get_data_dtype() == np.int16 and int(image.header["sform_code"]) == 1
    data = np.asarray(image.dataobj)
    # Voxel (i, j, k) of the canonical LPS array sits at LPS point affine @ (i, j, k); in RAS
    # that point is (-x, -y, z), and the file's voxel there must hold the same HU.
    rng = np.random.default_rng(0)
    for i, j, k in zip(*(rng.integers(0, n, 25) for n in spec.shape), strict=True):
        lps = spec.affine @ [i, j, k, 1]
        ras = np.array([-lps[0], -lps[1], lps[2], 1.0])
        index = np.rint(np.linalg.inv(image.affine) @ ras)[:3].astype(int)
        assert data[tuple(index)] == hu[i, j, k]
    canonical = np.asarray(nib.as_closest_canonical(image).dataobj)  # RAS order
    np.testing.assert_array_equal(canonical[::-1, ::-1, :], hu)


def test_volume_geometry_puts_the_heart_left_anterior_and_the_spine_posterior() -> None:
    drawn = draw_case(plan_case(SEED, 1, findings={}))
    masks = drawn.anatomy.masks
    heart_i, heart_j, _ = np.argwhere(masks["heart"]).mean(axis=0)
    spine_i, spine_j, _ = np.argwhere(masks["spine"]).mean(axis=0)
    x_mid, _, _ = (np.array(drawn.hu.shape) - 1) / 2
    assert heart_i > x_mid  # axis 0 runs to the patient's left
    assert heart_j < spine_j  # axis 1 runs posterior
    lungs = masks["lung_left"] | masks["lung_right"]
    assert np.median(drawn.hu[lungs]) == pytest.approx(-860, abs=40)
    assert np.median(drawn.hu[~masks["body"]]) < -990


# --------------------------------------------------------------------------- findings in the image
_EXPECTED_HU = {  # statistic over the finding's region: (statistic, low, high)
    "Medical material": ("max", 1500, 3071),
    "Arterial wall calcification": ("max", 450, 1200),
    "Cardiomegaly": ("median", 0, 250),
    "Pericardial effusion": ("median", 0, 25),
    "Coronary artery wall calcification": ("max", 400, 1200),
    "Hiatal hernia": ("min", -1024, -700),
    "Lymphadenopathy": ("max", 0, 100),
    "Emphysema": ("median", -1000, -930),
    "Atelectasis": ("median", 10, 50),
    "Lung nodule": ("max", -300, 100),
    "Lung opacity": ("median", -650, -450),
    "Pulmonary fibrotic sequela": ("max", -500, 100),
    "Pleural effusion": ("median", 0, 20),
    "Mosaic attenuation pattern": ("median", -1000, -700),
    "Peribronchial thickening": ("max", -400, 100),
    "Consolidation": ("median", 10, 60),
    "Bronchiectasis": ("min", -1024, -880),
    "Interlobular septal thickening": ("median", -400, -200),
}


@pytest.mark.parametrize("name", CT_RATE_FINDINGS)
def test_each_finding_changes_hu_in_its_region(name: str) -> None:
    index = CT_RATE_FINDINGS.index(name)
    plan = DRAWERS[name].plan(np.random.default_rng(index))
    spec = plan_case(SEED, index, findings={name: plan})
    drawn, normal = draw_case(spec), draw_case(spec.only())
    region = drawn.regions[name]
    assert region.any()
    change = np.abs(drawn.hu.astype(float) - normal.hu)[region]
    assert change.mean() > 60, f"{name} barely changes its region ({change.mean():.0f} HU)"
    statistic, low, high = _EXPECTED_HU[name]
    value = float(getattr(np, statistic)(drawn.hu[region]))
    assert low <= value <= high, f"{name}: {statistic} HU {value:.0f} not in [{low}, {high}]"
    if name != "Cardiomegaly":  # the only finding that reshapes the anatomy
        outside = ~region
        assert np.mean(drawn.hu[outside] == normal.hu[outside]) > 0.97


def test_pleural_effusion_is_fluid_in_the_dependent_lung_of_the_stated_side() -> None:
    spec = plan_case(SEED, 2, findings={"Pleural effusion": {"side": "left", "amount": "small"}})
    drawn = draw_case(spec)
    region = drawn.regions["Pleural effusion"]
    i, j, _ = np.argwhere(region).T
    assert (i > (spec.shape[0] - 1) / 2).all()  # left = +x
    lung_j = np.argwhere(drawn.anatomy.masks["lung_left"])[:, 1]
    assert j.mean() > lung_j.mean()  # posterior of the remaining lung
    assert abs(float(np.median(drawn.hu[region])) - 10) < 5


# --------------------------------------------------------------------------- prevalence, reports
def test_prevalence_is_about_thirty_percent_with_sensible_co_occurrence() -> None:
    draws = [sample_findings(SEED, i) for i in range(600)]
    for name in CT_RATE_FINDINGS:
        assert 0.15 < np.mean([name in d for d in draws]) < 0.42, name
    heart = [d for d in draws if "Cardiomegaly" in d]
    other = [d for d in draws if "Cardiomegaly" not in d]
    assert np.mean(["Pericardial effusion" in d for d in heart]) > 2 * np.mean(
        ["Pericardial effusion" in d for d in other]
    )
    assert 0.04 < np.mean([not d for d in draws]) < 0.2


_NEGATION = re.compile(r"\b(no|not|without|normal|clear)\b", re.I)
_HEDGE = re.compile(r"\b(possible|possibly|may|cannot|questionable|suspicious|borderline)\b", re.I)


def test_reports_state_the_truth_with_negation_uncertainty_and_placement() -> None:
    seen = {"uncertain": 0, "absent": 0, "not_mentioned": 0, "impression_only": 0}
    for index in range(150):
        spec: CaseSpec = plan_case(SEED, index)
        report = compose_report(spec)
        assert report.text == compose_report(spec).text
        by_finding: dict[str, list] = {}
        for m in report.mentions:
            span = report.text[m.start : m.end]
            assert span.strip() and m.state is report.states[m.finding]
            if m.state is LabelState.PRESENT:
                assert not _NEGATION.search(span) and not _HEDGE.search(span), span
            elif m.state is LabelState.ABSENT:
                assert _NEGATION.search(span), span
            else:
                assert _HEDGE.search(span), span
            by_finding.setdefault(m.finding, []).append(m)
        for name in CT_RATE_FINDINGS:
            state = report.states[name]
            if spec.truth[name]:
                assert state in (LabelState.PRESENT, LabelState.UNCERTAIN)
            else:
                assert state in (LabelState.ABSENT, LabelState.NOT_MENTIONED)
            assert (name in by_finding) == (state is not LabelState.NOT_MENTIONED)
            seen["uncertain"] += state is LabelState.UNCERTAIN
            seen["absent"] += state is LabelState.ABSENT
            seen["not_mentioned"] += state is LabelState.NOT_MENTIONED
            if spec.truth[name] and {m.section for m in by_finding[name]} == {"impression"}:
                seen["impression_only"] += 1
        assert re.search(r"impression|conclusion", report.text, re.I)
    assert min(seen.values()) >= 20, seen


def test_report_files_match_the_reports_and_their_offsets(cohort) -> None:
    summary, specs, _ = cohort
    with open(summary.reports_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["study_id", "report_text"]
    with open(summary.report_truth_path, newline="", encoding="utf-8") as handle:
        stated = {r["study_id"]: r for r in csv.DictReader(handle)}
    records = [json.loads(line) for line in (summary.out / "report_mentions.jsonl").read_text("utf-8").splitlines()]
    for row, record in zip(rows, records, strict=True):
        report = compose_report(specs[row["study_id"]])
        assert row["report_text"] == report.text and record["study_id"] == row["study_id"]
        assert all(stated[row["study_id"]][n] == report.states[n].value for n in CT_RATE_FINDINGS)
        for m in record["mentions"]:
            assert report.states[m["finding"]].value == m["state"]
            assert 0 <= m["start"] < m["end"] <= len(report.text)


def test_cli_command_writes_a_cohort_and_reports_json(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from radcurate.engine.cli.phantom_command import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    out = tmp_path / "cli"
    args = ["phantom", str(out), "--cases", "2", "--seed", "5", "--shape", "32,28,16"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Wrote 2 phantom studies" in result.output
    result = CliRunner().invoke(app, [*args, "--overwrite", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cases"] == 2 and data["n_dicom"] + data["n_nifti"] == 2
