"""Findings of the lung parenchyma and pleura, drawn into a normal torso.

Each finding has a ``plan_*`` (the facts a report states: side, lobe, size in mm, amount),
drawn before any pixel so reports can be written without rendering, and a ``draw_*`` that paints
those facts into :class:`~radcurate.engine.demo.phantom.anatomy.Anatomy` and returns the boolean
region it changed. Dense findings carve their region out of the lung masks so findings drawn
after them (see ``DRAW_ORDER`` in :mod:`findings`) do not paint over them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from radcurate.engine.demo.phantom.anatomy import SIDES, Anatomy
from radcurate.engine.demo.phantom.shapes import ellipsoid, erode, paint, pick_point, smooth_noise, sphere, tube

Plan = dict[str, Any]


def _side(rng: np.random.Generator, bilateral: float = 0.35) -> str:
    if rng.random() < bilateral:
        return "bilateral"
    return "right" if rng.random() < 0.5 else "left"


def _sides(plan: Plan) -> list[str]:
    return list(SIDES) if plan["side"] == "bilateral" else [plan["side"]]


def _lungs(anat: Anatomy, plan: Plan | None = None) -> np.ndarray:
    sides = _sides(plan) if plan else list(SIDES)
    out = np.zeros(anat.grid.shape, bool)
    for side in sides:
        out |= anat.lung(side)
    return out


def _carve(anat: Anatomy, region: np.ndarray) -> None:
    for side in SIDES:
        anat.masks[f"lung_{side}"] = anat.lung(side) & ~region


def _posterior_band(anat: Anatomy, lung: np.ndarray, depth_mm: np.ndarray | float) -> np.ndarray:
    """Voxels of ``lung`` within ``depth_mm`` of its most posterior voxel in each (x, z) column:
    where fluid and dependent collapse gather in a supine patient."""
    j = np.arange(anat.grid.shape[1])[None, :, None]
    back = np.where(lung, j, -1).max(axis=1, keepdims=True)
    return lung & (back >= 0) & ((back - j) * anat.grid.spacing[1] < depth_mm)


# --------------------------------------------------------------------------- pleura
def plan_pleural_effusion(rng: np.random.Generator) -> Plan:
    return {"side": _side(rng, 0.45), "amount": str(rng.choice(["minimal", "small", "moderate"]))}


def draw_pleural_effusion(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    depth = {"minimal": 8.0, "small": 16.0, "moderate": 28.0}[plan["amount"]]
    base = anat.params.dome
    profile = np.clip(1.25 - (anat.t - base) / 0.5, 0.3, 1.25)  # deepest at the base
    region = np.zeros(anat.grid.shape, bool)
    for side in _sides(plan):
        region |= _posterior_band(anat, anat.lung(side), depth * profile + anat.grid.spacing[1] * 0.5)
    fluid = 10.0 + 4.0 * rng.standard_normal(anat.grid.shape).astype(np.float32)
    anat.hu[region] = fluid[region]
    _carve(anat, region)
    return region


def plan_atelectasis(rng: np.random.Generator) -> Plan:
    return {"side": _side(rng, 0.3), "kind": str(rng.choice(["subsegmental", "passive", "linear"]))}


def draw_atelectasis(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A dependent wedge of collapsed lung in the lower lobe (in front of any effusion)."""
    region = np.zeros(anat.grid.shape, bool)
    depth = {"subsegmental": 16.0, "passive": 24.0, "linear": 12.0}[plan["kind"]]
    low = anat.t < anat.params.dome + 0.28
    for side in _sides(plan):
        lobe = anat.lobe(side, "lower") & low
        region |= _posterior_band(anat, lobe, depth + anat.grid.spacing[1] * 0.5)
    anat.hu[region] = 30.0 + 6.0 * rng.standard_normal(int(region.sum())).astype(np.float32)
    _carve(anat, region)
    return region


# --------------------------------------------------------------------------- focal dense lesions
_LOBES = {"right": ("upper", "middle", "lower"), "left": ("upper", "lower")}


def plan_lung_nodule(rng: np.random.Generator) -> Plan:
    side = "right" if rng.random() < 0.55 else "left"
    return {
        "side": side,
        "lobe": str(rng.choice(_LOBES[side])),
        "size_mm": int(rng.integers(4, 16)),
        "count": int(rng.choice([1, 1, 1, 2, 3])),
    }


def draw_lung_nodule(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    grid, region = anat.grid, np.zeros(anat.grid.shape, bool)
    sizes = [float(plan["size_mm"])] + [float(rng.uniform(4, 7)) for _ in range(plan["count"] - 1)]
    for n, size in enumerate(sizes):
        side = plan["side"] if n == 0 else str(rng.choice(list(SIDES)))
        lobe = anat.lobe(side, plan["lobe"]) if n == 0 else anat.lung(side)
        steps = max(1, int(round(size / 2 / min(grid.spacing))))
        centre = pick_point(grid, erode(lobe, steps), rng) or pick_point(grid, lobe, rng)
        if centre is None:
            continue
        # At least ~0.6 voxel radius so a 4 mm nodule still shows on a 6 mm grid.
        blob = sphere(grid, centre, max(size / 2, 0.6 * grid.voxel))
        paint(anat.hu, blob, 35.0)
        if blob is not None:
            region |= blob.mask(grid.shape)
    _carve(anat, region)
    return region


def plan_consolidation(rng: np.random.Generator) -> Plan:
    side = _side(rng, 0.2)
    return {"side": side, "lobe": "lower" if rng.random() < 0.65 else "upper"}


def draw_consolidation(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A dense lobar patch (~+35 HU) with air bronchograms."""
    grid, region = anat.grid, np.zeros(anat.grid.shape, bool)
    for side in _sides(plan):
        lobe = anat.lobe(side, plan["lobe"])
        centre = pick_point(grid, erode(lobe, 2), rng) or pick_point(grid, lobe, rng)
        if centre is None:
            continue
        radii = tuple(float(r) for r in rng.uniform(22, 40, 3))
        patch = ellipsoid(grid, centre, radii)  # type: ignore[arg-type]
        if patch is None:
            continue
        here = patch.mask(grid.shape) & lobe
        anat.hu[here] = 35.0 + 8.0 * rng.standard_normal(int(here.sum())).astype(np.float32)
        for airway, lumen in anat.airways[side]:
            paint(anat.hu, tube(grid, airway, lumen), -900.0, limit=here)
        region |= here
    _carve(anat, region)
    return region


def plan_lung_opacity(rng: np.random.Generator) -> Plan:
    return {"side": _side(rng, 0.5), "count": int(rng.integers(1, 4))}


def draw_lung_opacity(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Ground-glass patches (~−550 HU) that leave vessels visible."""
    grid, region = anat.grid, np.zeros(anat.grid.shape, bool)
    lungs = _lungs(anat, plan)
    for _ in range(plan["count"] * len(_sides(plan))):
        centre = pick_point(grid, lungs, rng)
        if centre is None:
            break
        patch = ellipsoid(grid, centre, tuple(float(r) for r in rng.uniform(15, 32, 3)))  # type: ignore[arg-type]
        if patch is None:
            continue
        here = patch.mask(grid.shape, 0.3) & lungs
        anat.hu[here] = np.maximum(anat.hu[here], -560.0 + 30.0 * rng.standard_normal(int(here.sum())))
        region |= here
    return region


# --------------------------------------------------------------------------- diffuse patterns
def plan_emphysema(rng: np.random.Generator) -> Plan:
    return {
        "kind": str(rng.choice(["centrilobular", "paraseptal", "bullous"])),
        "severity": str(rng.choice(["mild", "moderate"])),
    }


def draw_emphysema(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Upper-lobe predominant low-attenuation areas (~−960 HU), bullae at the apex if bullous."""
    grid, lungs = anat.grid, _lungs(anat)
    noise = smooth_noise(grid.shape, (12, 10, 9), rng) + 1.6 * (anat.t - 0.6)
    threshold = 0.8 if plan["severity"] == "mild" else 0.3
    region = lungs & (noise > threshold)
    anat.hu[region] = -965.0 + 8.0 * rng.standard_normal(int(region.sum())).astype(np.float32)
    if plan["kind"] != "centrilobular":
        apex = lungs & (anat.t > 0.7) & np.any([anat.lung_radius(s) > 0.7 for s in SIDES], axis=0)
        for _ in range(int(rng.integers(1, 4))):
            centre = pick_point(grid, apex, rng)
            if centre is None:
                break
            bulla = sphere(grid, centre, float(rng.uniform(9, 20)))
            paint(anat.hu, bulla, -995.0, limit=lungs)
            if bulla is not None:
                region |= bulla.mask(grid.shape) & lungs
    return region


def plan_mosaic_attenuation_pattern(rng: np.random.Generator) -> Plan:
    return {"side": "bilateral"}


def draw_mosaic_attenuation_pattern(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Geographic patches of lower (air trapping, −90 HU) and higher (+80 HU) lung attenuation."""
    lungs = _lungs(anat)
    cells = smooth_noise(anat.grid.shape, (6, 5, 5), rng)
    dark, bright = lungs & (cells > 0.25), lungs & (cells < -0.25)
    anat.hu[dark] -= 90.0
    anat.hu[bright] += 80.0
    return dark | bright


def plan_interlobular_septal_thickening(rng: np.random.Generator) -> Plan:
    return {"zone": str(rng.choice(["basal", "diffuse"]))}


def draw_interlobular_septal_thickening(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A subpleural lattice of thickened septa (~1.5 cm lobules) at ~−250 HU."""
    grid, lungs = anat.grid, _lungs(anat)
    period = max(18.0, 3.0 * grid.voxel)
    offset = rng.uniform(0, period, 3)
    dist = np.full(grid.shape, np.inf, dtype=np.float32)
    for axis, coord in enumerate((grid.x, grid.y, grid.z)):
        phase = np.mod(coord + offset[axis], period)
        np.minimum(dist, np.minimum(phase, period - phase), out=dist)
    rim = np.any([anat.lung_radius(s) > 0.72 for s in SIDES], axis=0) | (anat.t < anat.params.dome + 0.08)
    zone = rim & ((anat.t < anat.params.dome + 0.35) if plan["zone"] == "basal" else True)
    region = lungs & zone & (dist < 0.3 * grid.voxel)
    anat.hu[region] = -300.0 + 30.0 * rng.standard_normal(int(region.sum())).astype(np.float32)
    return region


def plan_pulmonary_fibrotic_sequela(rng: np.random.Generator) -> Plan:
    return {"side": _side(rng, 0.5), "lobe": "upper" if rng.random() < 0.75 else "lower"}


def draw_pulmonary_fibrotic_sequela(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Subpleural parenchymal bands: short soft-tissue strands running in from the pleura."""
    grid, region = anat.grid, np.zeros(anat.grid.shape, bool)
    for side in _sides(plan):
        lobe = anat.lobe(side, plan["lobe"])
        rim = lobe & (anat.lung_radius(side) > 0.75)
        for _ in range(int(rng.integers(2, 5))):
            start = pick_point(grid, rim, rng)
            if start is None:
                break
            hilum = np.array(anat.mm(SIDES[side] * 0.28, 0.0, 0.6))
            direction = hilum - np.array(start)
            end = np.array(start) + direction / np.linalg.norm(direction) * rng.uniform(20, 45)
            strand = tube(grid, np.stack([np.array(start), end]), 2.0)
            paint(anat.hu, strand, -40.0, limit=lobe)
            if strand is not None:
                region |= strand.mask(grid.shape, 0.3) & lobe
    return region


# --------------------------------------------------------------------------- airways
def plan_bronchiectasis(rng: np.random.Generator) -> Plan:
    return {"side": _side(rng, 0.5), "kind": str(rng.choice(["cylindrical", "varicose"]))}


def draw_bronchiectasis(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Dilated lower-lobe airways (lumen wider than the companion artery) with thick walls."""
    grid, region = anat.grid, np.zeros(anat.grid.shape, bool)
    for side in _sides(plan):
        lung = anat.lung(side)
        for airway, _ in anat.airways[side][5:]:  # the basal branches
            lumen = np.array([4.0, 5.5, 5.0]) if plan["kind"] == "cylindrical" else np.array([4.0, 7.0, 3.5])
            wall = tube(grid, airway, lumen + 2.0)
            paint(anat.hu, wall, 10.0, limit=lung)
            paint(anat.hu, tube(grid, airway, lumen), -985.0, limit=lung)
            if wall is not None:
                region |= wall.mask(grid.shape, 0.3) & lung
    return region


def plan_peribronchial_thickening(rng: np.random.Generator) -> Plan:
    return {"side": "bilateral"}


def draw_peribronchial_thickening(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A soft-tissue cuff (~+25 HU) around every segmental bronchus."""
    grid, region = anat.grid, np.zeros(anat.grid.shape, bool)
    for side in SIDES:
        lung = anat.lung(side)
        for airway, lumen in anat.airways[side]:
            cuff = tube(grid, airway, lumen + 3.5)
            paint(anat.hu, cuff, 25.0, limit=lung)
            paint(anat.hu, tube(grid, airway, lumen), -960.0, limit=lung)
            if cuff is not None:
                region |= cuff.mask(grid.shape, 0.4) & lung
    return region
