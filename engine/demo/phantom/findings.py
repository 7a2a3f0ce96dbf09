"""The findings a phantom can show: all 18 of CT-RATE's, each planned, then drawn in HU.

A finding is a :class:`FindingDrawer`: ``plan(rng)`` picks the facts a report states (side,
size in mm, device, ...), ``draw(anatomy, plan, rng)`` paints them and returns the boolean region
it changed, which tests use to check that the image shows what the truth says. Cardiomegaly is
the one finding that changes the anatomy itself (:func:`adjust_anatomy`). Heart, mediastinum and
device findings live here; parenchymal and pleural ones in :mod:`lung_findings`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from radcurate.engine.demo.phantom import lung_findings as lf
from radcurate.engine.demo.phantom.anatomy import Anatomy, AnatomyParams
from radcurate.engine.demo.phantom.shapes import Patch, ellipsoid, paint, sphere, tube
from radcurate.engine.vocabulary import CT_RATE_FINDINGS

Plan = dict[str, Any]
METAL_HU = 3000.0


@dataclass(frozen=True)
class FindingDrawer:
    name: str
    plan: Callable[[np.random.Generator], Plan]
    draw: Callable[[Anatomy, Plan, np.random.Generator], np.ndarray]


def _speck(anat: Anatomy, centre: np.ndarray, value: float, region: np.ndarray) -> None:
    """A calcified speck centred on the nearest voxel, at least ~0.55 voxel in radius, so it shows
    as one bright voxel even on a coarse grid (partial volume would otherwise wash it out)."""
    grid = anat.grid
    snapped = []
    for c, coord in zip(centre, (grid.x, grid.y, grid.z), strict=True):
        snapped.append(float(coord.flat[np.abs(coord.ravel() - c).argmin()]))  # a voxel centre
    blob = sphere(grid, tuple(snapped), max(2.0, 0.55 * grid.voxel))  # type: ignore[arg-type]
    paint(anat.hu, blob, value)
    if blob is not None:
        region |= blob.mask(anat.grid.shape)


# --------------------------------------------------------------------------- heart
def plan_cardiomegaly(rng: np.random.Generator) -> Plan:
    scale = float(rng.uniform(1.25, 1.45))
    return {"scale": scale, "degree": "mild" if scale < 1.33 else "moderate"}


def adjust_anatomy(params: AnatomyParams, plans: dict[str, Plan]) -> AnatomyParams:
    """Apply findings that change the normal anatomy (an enlarged heart) before rendering."""
    if "Cardiomegaly" in plans:
        return replace(params, heart_scale=params.heart_scale * plans["Cardiomegaly"]["scale"])
    return params


def draw_cardiomegaly(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Already drawn by the anatomy; the region is the heart outside its normal size."""
    normal = tuple(r / plan["scale"] for r in anat.heart_radii)
    centre = (*anat.heart_centre[:2], anat.heart_centre[2] - anat.heart_radii[2] + normal[2])
    patch = ellipsoid(anat.grid, centre, normal)  # type: ignore[arg-type]
    inside = patch.mask(anat.grid.shape) if patch else np.zeros(anat.grid.shape, bool)
    return anat.masks["heart"] & ~inside


def plan_pericardial_effusion(rng: np.random.Generator) -> Plan:
    return {"thickness_mm": int(rng.integers(7, 19))}


def draw_pericardial_effusion(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """A fluid rim (~+12 HU) around the heart, inside the pericardial fat."""
    grid, heart = anat.grid, anat.masks["heart"]
    radii = tuple(r + plan["thickness_mm"] for r in anat.heart_radii)
    shell = ellipsoid(grid, anat.heart_centre, radii)  # type: ignore[arg-type]
    if shell is None:
        return np.zeros(grid.shape, bool)
    above = anat.t > anat.dome_t(anat.u, anat.v) - 0.02
    keep = ~(heart | anat.masks["spine"] | anat.masks["aorta"]) & above
    region = shell.mask(grid.shape) & keep
    anat.hu[region] = 12.0 + 4.0 * rng.standard_normal(int(region.sum())).astype(np.float32)
    lf._carve(anat, region)
    return region


_CORONARIES = {  # (azimuth range in degrees around the heart, elevation) on the heart surface
    "LAD": ((-95.0, -65.0), (0.55, -0.35)),
    "RCA": ((-150.0, -200.0), (0.35, 0.2)),
    "LCx": ((-40.0, 15.0), (0.45, 0.35)),
}


def plan_coronary_artery_wall_calcification(rng: np.random.Generator) -> Plan:
    names = [n for n in _CORONARIES if rng.random() < 0.5] or ["LAD"]
    return {"vessels": names}


def draw_coronary_artery_wall_calcification(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    region = np.zeros(anat.grid.shape, bool)
    c, r = np.array(anat.heart_centre), np.array(anat.heart_radii)
    for name in plan["vessels"]:
        (az0, az1), (el0, el1) = _CORONARIES[name]
        for s in rng.uniform(0, 1, int(rng.integers(2, 5))):
            az, el = np.radians(az0 + s * (az1 - az0)), el0 + s * (el1 - el0)
            direction = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            _speck(anat, c + 1.02 * r * direction, float(rng.uniform(500, 900)), region)
    return region


# --------------------------------------------------------------------------- vessels, mediastinum
def plan_arterial_wall_calcification(rng: np.random.Generator) -> Plan:
    extent = str(rng.choice(["scattered", "extensive"]))
    return {"extent": extent}


def draw_arterial_wall_calcification(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Calcified plaques (~+700 HU) on the aortic wall, mostly the arch and descending aorta."""
    region = np.zeros(anat.grid.shape, bool)
    path, radii = anat.aorta_path, anat.aorta_radii
    count = int(rng.integers(4, 8)) if plan["extent"] == "scattered" else int(rng.integers(10, 18))
    for _ in range(count):
        seg = int(rng.integers(2, len(path) - 1))
        s = float(rng.uniform())
        centre = path[seg] + s * (path[seg + 1] - path[seg])
        axis = (path[seg + 1] - path[seg]) / np.linalg.norm(path[seg + 1] - path[seg])
        normal = np.cross(axis, rng.standard_normal(3))
        normal /= np.linalg.norm(normal)
        wall = radii[seg] + s * (radii[seg + 1] - radii[seg]) - 1.0
        _speck(anat, centre + wall * normal, float(rng.uniform(550, 950)), region)
    return region


_STATIONS = {
    "right paratracheal": (-0.09, -0.1, 0.8),
    "subcarinal": (-0.05, 0.02, 0.6),
    "aortopulmonary window": (0.1, -0.02, 0.71),
    "prevascular": (-0.03, -0.33, 0.74),
    "right hilar": (-0.29, 0.03, 0.56),
    "left hilar": (0.29, 0.03, 0.56),
}


def plan_lymphadenopathy(rng: np.random.Generator) -> Plan:
    stations = [s for s in _STATIONS if rng.random() < 0.35] or [str(rng.choice(list(_STATIONS)))]
    return {"stations": stations, "short_axis_mm": int(rng.integers(12, 25))}


def draw_lymphadenopathy(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Enlarged soft-tissue nodes (~+40 HU) at mediastinal and hilar stations."""
    grid, region = anat.grid, np.zeros(anat.grid.shape, bool)
    keep = ~(anat.masks["aorta"] | anat.masks["heart"] | anat.masks["spine"] | anat.masks["oesophagus"])
    for station in plan["stations"]:
        half = max(plan["short_axis_mm"] / 2 * float(rng.uniform(0.9, 1.1)), 0.8 * grid.voxel)
        node = ellipsoid(grid, anat.mm(*_STATIONS[station]), (1.2 * half, half, 1.5 * half))
        paint(anat.hu, node, 40.0, limit=keep)
        if node is not None:
            region |= node.mask(grid.shape) & keep
    lf._carve(anat, region)
    return region


def plan_hiatal_hernia(rng: np.random.Generator) -> Plan:
    return {"size": str(rng.choice(["small", "large"]))}


def draw_hiatal_hernia(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Stomach above the diaphragm behind the heart: a walled sac with an air-fluid level."""
    grid = anat.grid
    r = 16.0 if plan["size"] == "small" else 27.0
    centre = anat.mm(0.04, 0.08, anat.params.dome + 0.02)
    centre = (centre[0], centre[1], centre[2] + 0.6 * r)
    keep = ~(anat.masks["spine"] | anat.masks["aorta"])
    sac = ellipsoid(grid, centre, (r, 0.85 * r, 0.8 * r))
    paint(anat.hu, sac, 40.0, limit=keep)
    inner = ellipsoid(grid, centre, (r - 4.0, 0.85 * r - 4.0, 0.8 * r - 4.0))
    contents = np.where(np.broadcast_to(grid.y < centre[1] + 0.2 * r, grid.shape), -1000.0, 15.0)
    paint(anat.hu, inner, contents.astype(np.float32), limit=keep)
    region = sac.mask(grid.shape) & keep if sac else np.zeros(grid.shape, bool)
    lf._carve(anat, region)
    return region


# --------------------------------------------------------------------------- devices
def plan_medical_material(rng: np.random.Generator) -> Plan:
    return {"device": str(rng.choice(["port catheter", "pacemaker", "sternotomy wires", "aortic stent"]))}


def _subcutaneous(anat: Anatomy, u: float, t: float) -> tuple[float, float, float]:
    """A point in the anterior subcutaneous fat at (u, t)."""
    v = -np.sqrt(max(0.0, 1.0 - u * u)) + anat.params.fat_mm / 2 / anat.b
    return anat.mm(u, float(v), t)


def draw_medical_material(anat: Anatomy, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Metal (~+3000 HU): a port or pacemaker with its line, sternal wires, or an aortic stent."""
    grid, device = anat.grid, plan["device"]
    hc, hr = np.array(anat.heart_centre), np.array(anat.heart_radii)
    parts = []
    if device in ("port catheter", "pacemaker"):
        s = -1.0 if device == "port catheter" else 1.0
        box = _subcutaneous(anat, s * 0.5, 0.84)
        size = (12.0, 5.0, 12.0) if device == "port catheter" else (22.0, 6.0, 20.0)
        parts.append((ellipsoid(grid, box, size), METAL_HU if device == "pacemaker" else 1800.0))
        line = [box, anat.mm(s * 0.25, -0.3, 0.88), anat.mm(-0.07, -0.14, 0.76), hc + hr * [-0.6, 0.0, 0.3]]
        if device == "pacemaker":
            line.append(hc + hr * [0.2, -0.6, -0.5])
        parts.append((tube(grid, np.array(line), 1.5), METAL_HU))
    elif device == "sternotomy wires":
        for t in np.linspace(0.45, 0.85, int(rng.integers(4, 7))):
            c = np.array(anat.mm(0.0, -0.84, float(t)))
            ring = [c + [12 * np.cos(a), 7 * np.sin(a), 0] for a in np.linspace(0, 2 * np.pi, 13)]
            parts.append((tube(grid, np.array(ring), 1.0), METAL_HU))
    else:
        path, radius = anat.aorta_path[-2:], float(anat.aorta_radii[-1])
        top, bottom = path[0], path[0] + 0.5 * (path[1] - path[0])
        for z in np.linspace(0.0, 1.0, 7):
            c = top + z * (bottom - top)
            ring = [c + [radius * np.cos(a), radius * np.sin(a), 0] for a in np.linspace(0, 2 * np.pi, 17)]
            parts.append((tube(grid, np.array(ring), 1.0), 1800.0))
    region = np.zeros(grid.shape, bool)
    for patch, value in parts:
        if patch is not None:  # metal blooms: thin wires still saturate the voxels they cross
            patch = Patch(patch.box, np.minimum(1.0, 2.5 * patch.cov))
        paint(anat.hu, patch, value)
        if patch is not None:
            region |= patch.mask(grid.shape, 0.3)
    return region


# --------------------------------------------------------------------------- registry
def _drawer(name: str) -> FindingDrawer:
    """The ``plan_``/``draw_`` pair of a finding, from lung_findings.py when it lives there, else here."""
    key = name.lower().replace(" ", "_")
    module = lf if hasattr(lf, f"plan_{key}") else sys.modules[__name__]
    return FindingDrawer(name, getattr(module, f"plan_{key}"), getattr(module, f"draw_{key}"))


DRAWERS: dict[str, FindingDrawer] = {name: _drawer(name) for name in CT_RATE_FINDINGS}
"""Every drawable finding, in CT-RATE order (all 18 of the default vocabulary)."""

DRAW_ORDER: tuple[str, ...] = (
    "Cardiomegaly",
    "Mosaic attenuation pattern",
    "Emphysema",
    "Interlobular septal thickening",
    "Pulmonary fibrotic sequela",
    "Lung opacity",
    "Bronchiectasis",
    "Peribronchial thickening",
    "Consolidation",
    "Lung nodule",
    "Pleural effusion",
    "Atelectasis",
    "Pericardial effusion",
    "Lymphadenopathy",
    "Hiatal hernia",
    "Arterial wall calcification",
    "Coronary artery wall calcification",
    "Medical material",
)
"""Painting order: diffuse lung patterns first, dense lesions and fluid over them, metal last."""
