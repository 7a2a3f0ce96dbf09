"""One phantom case: what it shows (:class:`CaseSpec`), how findings co-occur, and its HU volume.

Every random choice is drawn from a stream keyed by ``(seed, case index, purpose)``, so a case
is the same whatever else the cohort holds, and removing one finding from a spec leaves the
anatomy and every other finding exactly as they were (tests rely on this to see what a single
finding changes).

Findings co-occur through a few latent conditions, as in real cohorts: heart failure
(cardiomegaly, pericardial and pleural effusion, septal thickening), smoking (emphysema, nodules,
bronchial wall thickening), infection (consolidation, ground glass, atelectasis, nodes), age
(calcified plaques, hiatal hernia, devices, fibrotic sequelae) and small-airway disease
(bronchiectasis, mosaic attenuation). Each finding's prevalence is roughly 30 %; about one case
in ten is normal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from radcurate.engine.demo.phantom.anatomy import Anatomy, AnatomyParams, build_anatomy, sample_anatomy
from radcurate.engine.demo.phantom.findings import DRAW_ORDER, DRAWERS, adjust_anatomy
from radcurate.engine.demo.phantom.shapes import grid_for
from radcurate.engine.vocabulary import CT_RATE_FINDINGS

DEFAULT_SHAPE: tuple[int, int, int] = (64, 56, 40)
DEFAULT_SPACING: tuple[float, float, float] = (6.0, 6.0, 8.0)
HU_MIN, HU_MAX = -1024, 3071  # what 12 stored bits with intercept −1024 can hold

_CONDITIONS: dict[str, tuple[float, dict[str, float]]] = {
    "heart failure": (
        0.28,
        {
            "Cardiomegaly": 0.75,
            "Pericardial effusion": 0.55,
            "Pleural effusion": 0.6,
            "Interlobular septal thickening": 0.6,
            "Atelectasis": 0.3,
        },
    ),
    "smoking": (
        0.35,
        {
            "Emphysema": 0.7,
            "Lung nodule": 0.5,
            "Peribronchial thickening": 0.4,
            "Coronary artery wall calcification": 0.2,
        },
    ),
    "infection": (
        0.3,
        {
            "Consolidation": 0.75,
            "Lung opacity": 0.7,
            "Atelectasis": 0.45,
            "Lymphadenopathy": 0.5,
            "Pleural effusion": 0.3,
            "Peribronchial thickening": 0.3,
        },
    ),
    "age": (
        0.45,
        {
            "Arterial wall calcification": 0.6,
            "Coronary artery wall calcification": 0.5,
            "Hiatal hernia": 0.45,
            "Medical material": 0.45,
            "Pulmonary fibrotic sequela": 0.45,
            "Lung nodule": 0.2,
        },
    ),
    "small airways": (
        0.28,
        {"Bronchiectasis": 0.75, "Mosaic attenuation pattern": 0.75, "Peribronchial thickening": 0.4},
    ),
}
_BACKGROUND = 0.1  # chance of each finding without any condition
_NORMAL = 0.1  # chance that a case is entirely normal


@dataclass(frozen=True)
class CaseSpec:
    """Everything needed to render and write one case, decided before any pixel is drawn.

    ``findings`` maps each finding drawn in the image to the facts its report states (side,
    lobe, size in mm, ...), in CT-RATE order. ``origin`` is the LPS position (mm) of voxel
    ``(0, 0, 0)``; the axes run along +x (Left), +y (Posterior), +z (Superior).
    """

    case_id: str
    seed: int
    index: int
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    anatomy: AnatomyParams
    findings: Mapping[str, Mapping[str, Any]]
    volume_format: str = "nifti"  # "dicom" | "nifti"
    transfer_syntax: str = ""  # DICOM transfer syntax UID ("" for NIfTI)
    signed_pixels: bool = False  # DICOM PixelRepresentation 1 (BitsStored 16) instead of 0 (12)
    nifti_axes: str = "LPS"  # array order stored in the NIfTI file: "LPS" or "RAS"
    patient_sex: str = "O"
    patient_age: int = 60

    @property
    def truth(self) -> dict[str, int]:
        """0/1 per default finding, CT-RATE order: 1 where the finding is drawn."""
        return {name: int(name in self.findings) for name in CT_RATE_FINDINGS}

    @property
    def affine(self) -> np.ndarray:
        """Voxel index → LPS mm (4×4), the canonical Volume affine."""
        out = np.diag([*self.spacing, 1.0])
        out[:3, 3] = self.origin
        return out

    def without(self, *names: str) -> CaseSpec:
        """The same case with some findings removed (anatomy and other findings unchanged)."""
        kept = {k: v for k, v in self.findings.items() if k not in names}
        return _replace(self, findings=kept)

    def only(self, *names: str) -> CaseSpec:
        return _replace(self, findings={k: v for k, v in self.findings.items() if k in names})


def _replace(spec: CaseSpec, **changes: Any) -> CaseSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def rng_for(seed: int, index: int, purpose: int) -> np.random.Generator:
    """The random stream of one case for one purpose (0 plan, 1 anatomy, 2 noise, 100+ finding plan,
    200+ finding drawing)."""
    return np.random.default_rng([seed, index, purpose])


def sample_findings(seed: int, index: int) -> dict[str, dict[str, Any]]:
    """Which findings case ``index`` shows, and their facts, in CT-RATE order."""
    rng = rng_for(seed, index, 0)
    if rng.random() < _NORMAL:
        return {}
    active = [conds for conds in _CONDITIONS.values() if rng.random() < conds[0]]
    chosen: dict[str, dict[str, Any]] = {}
    for n, name in enumerate(CT_RATE_FINDINGS):
        absent = 1.0 - _BACKGROUND
        for _, weights in active:
            absent *= 1.0 - weights.get(name, 0.0)
        if rng.random() < 1.0 - absent:
            chosen[name] = DRAWERS[name].plan(rng_for(seed, index, 100 + n))
    return chosen


def plan_case(
    seed: int,
    index: int,
    *,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    spacing: tuple[float, float, float] = DEFAULT_SPACING,
    findings: Mapping[str, Mapping[str, Any]] | None = None,
    **writing: Any,
) -> CaseSpec:
    """The spec of case ``index`` of the cohort ``seed`` (``findings`` overrides the sampled ones;
    ``writing`` sets the file-format fields of :class:`CaseSpec`)."""
    rng = rng_for(seed, index, 3)
    extent_z = shape[2] * spacing[2]
    z0 = -extent_z - float(np.round(rng.uniform(40.0, 240.0), 1))  # table position varies
    origin = (-(shape[0] - 1) / 2 * spacing[0], -(shape[1] - 1) / 2 * spacing[1], z0)
    return CaseSpec(
        case_id=f"phantom_{index + 1:04d}",
        seed=seed,
        index=index,
        shape=tuple(int(n) for n in shape),  # type: ignore[arg-type]
        spacing=tuple(float(s) for s in spacing),  # type: ignore[arg-type]
        origin=origin,
        anatomy=sample_anatomy(rng_for(seed, index, 1)),
        findings=dict(findings) if findings is not None else sample_findings(seed, index),
        patient_sex=str(rng.choice(["F", "M"])),
        patient_age=int(rng.integers(25, 90)),
        **writing,
    )


@dataclass
class DrawnCase:
    """A rendered case: HU volume (int16, LPS (X, Y, Z)), per-finding regions and the anatomy."""

    spec: CaseSpec
    hu: np.ndarray
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    anatomy: Anatomy | None = None


def draw_case(spec: CaseSpec, *, noise: bool = True) -> DrawnCase:
    """Render a case and keep the region each finding changed (for tests and segmentation demos)."""
    grid = grid_for(spec.shape, spec.spacing)
    params = adjust_anatomy(spec.anatomy, {k: dict(v) for k, v in spec.findings.items()})
    anat = build_anatomy(grid, params, rng_for(spec.seed, spec.index, 1))
    regions: dict[str, np.ndarray] = {}
    for name in DRAW_ORDER:
        if name in spec.findings:
            n = CT_RATE_FINDINGS.index(name)
            regions[name] = DRAWERS[name].draw(anat, dict(spec.findings[name]), rng_for(spec.seed, spec.index, 200 + n))
    hu = anat.hu
    if noise:
        rng = rng_for(spec.seed, spec.index, 2)
        sigma = np.where(anat.masks["body"], 12.0, 4.0).astype(np.float32)
        hu += sigma * rng.standard_normal(grid.shape, dtype=np.float32)
    out = np.clip(np.rint(hu), HU_MIN, HU_MAX).astype(np.int16)
    return DrawnCase(spec=spec, hu=out, regions=regions, anatomy=anat)


def render_case(spec: CaseSpec) -> np.ndarray:
    """The ground-truth HU volume of a case: int16, LPS (X, Y, Z), exactly what the files hold."""
    return draw_case(spec).hu
