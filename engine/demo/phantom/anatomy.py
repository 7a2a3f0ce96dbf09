"""The normal torso of a phantom case, in HU: body wall, lungs, heart, great vessels, spine, ribs.

Values follow non-contrast chest CT: air −1000, subcutaneous fat −100, mediastinal fat −90,
muscle and myocardium ~45, blood ~38 (~180 in the contrast phase some cases get), liver 55,
aerated lung ~−860 with texture and a gravity gradient (posterior denser, the patient lies
supine), cancellous bone ~250 with a ~700 cortical rim, ribs ~500.

Geometry is laid out in *body-normalised* coordinates so any grid shape gets a torso that fills
its field of view: ``u = x / a`` (−1 patient right … +1 patient left), ``v = (y − yc) / b``
(−1 anterior … +1 posterior) and ``t = (z − zmin) / Lz`` (0 inferior … 1 superior), where
``a``/``b`` are the body's half width/depth in mm. Small things (nodules, specks) are sized in mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from radcurate.engine.demo.phantom.shapes import Grid, Vec3, ellipsoid, paint, smooth_noise, tube

SIDES = {"right": -1.0, "left": 1.0}  # sign of u: patient right is −x in LPS
LUNG_CENTRE_U, LUNG_CENTRE_V = 0.45, 0.05
LUNG_RADIUS_U, LUNG_RADIUS_V = 0.36, 0.55
LUNG_HU = -860.0


@dataclass(frozen=True)
class AnatomyParams:
    """Per-case body habitus, drawn once per case (see :func:`sample_anatomy`)."""

    width: float = 0.88  # body half-width as a fraction of the field of view's half-width
    depth_ratio: float = 0.72  # body half-depth / half-width
    fat_mm: float = 16.0  # subcutaneous fat thickness
    dome: float = 0.22  # t of the diaphragm at the lung margins
    heart_scale: float = 1.0  # Cardiomegaly multiplies this
    heart_u: float = 0.10  # heart centre, towards the patient's left
    contrast: bool = False  # blood pool enhanced (arterial phase)


def sample_anatomy(rng: np.random.Generator) -> AnatomyParams:
    return AnatomyParams(
        width=float(rng.uniform(0.84, 0.92)),
        depth_ratio=float(rng.uniform(0.66, 0.76)),
        fat_mm=float(rng.uniform(9.0, 24.0)),
        dome=float(rng.uniform(0.18, 0.26)),
        heart_scale=float(rng.uniform(0.93, 1.05)),
        heart_u=float(rng.uniform(0.07, 0.13)),
        contrast=bool(rng.random() < 0.25),
    )


@dataclass
class Anatomy:
    """A rendered normal torso plus the geometry findings need to place themselves."""

    grid: Grid
    params: AnatomyParams
    hu: np.ndarray  # float32 HU, (X, Y, Z) LPS
    a: float
    b: float
    yc: float
    zmin: float
    length: float
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    heart_centre: Vec3 = (0.0, 0.0, 0.0)
    heart_radii: Vec3 = (1.0, 1.0, 1.0)
    aorta_path: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    aorta_radii: np.ndarray = field(default_factory=lambda: np.zeros(0))
    airways: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    @property
    def u(self) -> np.ndarray:
        return self.grid.x / self.a

    @property
    def v(self) -> np.ndarray:
        return (self.grid.y - self.yc) / self.b

    @property
    def t(self) -> np.ndarray:
        return (self.grid.z - self.zmin) / self.length

    def mm(self, u: float, v: float, t: float) -> Vec3:
        """Body-normalised coordinates → LPS mm (grid-centred)."""
        return (u * self.a, self.yc + v * self.b, self.zmin + t * self.length)

    def dome_t(self, u: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
        """t of the diaphragm under (u, v): a dome per side, the right one higher (liver)."""
        side = np.where(np.asarray(u) < 0, 0.03, 0.0)
        r2 = ((np.abs(u) - LUNG_CENTRE_U) / 0.42) ** 2 + ((np.asarray(v) + 0.1) / 0.75) ** 2
        return self.params.dome + side + 0.11 * (1.0 - np.clip(r2, 0.0, 1.0))

    def lung(self, side: str) -> np.ndarray:
        return self.masks[f"lung_{side}"]

    def lung_radius(self, side: str) -> np.ndarray:
        """Normalised distance from the lung's axis (0 centre, ~1 at the costal pleura)."""
        s = SIDES[side]
        taper = _apex_taper(self.t)
        return np.sqrt(
            ((self.u - s * LUNG_CENTRE_U) / (LUNG_RADIUS_U * taper)) ** 2
            + ((self.v - LUNG_CENTRE_V) / (LUNG_RADIUS_V * taper)) ** 2
        )

    def lobe(self, side: str, lobe: str) -> np.ndarray:
        """Approximate lobe of one lung: an oblique fissure, plus a horizontal one on the right."""
        t, v = self.t, self.v
        lower = t < 0.53 + 0.28 * v + 0.25 * self.params.dome
        if lobe == "lower":
            region = lower
        elif lobe == "middle":
            region = ~lower & (t < 0.58) & (v < 0.1)
        else:
            region = ~lower & ~((t < 0.58) & (v < 0.1)) if side == "right" else ~lower
        return self.lung(side) & region


def _apex_taper(t: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip((1.04 - t) / 0.3, 0.02, 1.0))


def build_anatomy(grid: Grid, params: AnatomyParams, rng: np.random.Generator) -> Anatomy:
    """Render the normal torso for one case (float32 HU, LPS) and record its geometry."""
    half_x, half_y, length = grid.extent[0] / 2, grid.extent[1] / 2, grid.extent[2]
    a = params.width * half_x
    b = min(params.depth_ratio * a, 0.92 * half_y)
    anat = Anatomy(
        grid=grid,
        params=params,
        hu=np.full(grid.shape, -1000.0, dtype=np.float32),
        a=a,
        b=b,
        yc=-0.03 * half_y,
        zmin=float(grid.z.min()) - grid.spacing[2] / 2,
        length=length,
    )
    _body_wall(anat)
    _lungs(anat, rng)
    _heart(anat)
    _mediastinum(anat)
    _spine(anat)
    _airway_tree(anat, rng)
    return anat


def _ellipse(anat: Anatomy, shrink_mm: float) -> np.ndarray:
    ax, bx = anat.a - shrink_mm, anat.b - shrink_mm
    return (anat.grid.x / ax) ** 2 + ((anat.grid.y - anat.yc) / bx) ** 2 <= 1.0


def _body_wall(anat: Anatomy) -> None:
    p, hu, full = anat.params, anat.hu, anat.grid.shape
    body = np.broadcast_to(_ellipse(anat, 0.0), full)
    muscle = np.broadcast_to(_ellipse(anat, p.fat_mm), full)
    cavity = np.broadcast_to(_ellipse(anat, p.fat_mm + 12.0), full)
    hu[body] = -100.0
    hu[muscle] = 45.0
    hu[cavity] = -90.0
    # Ribs: a ring just inside the muscle, in bands sloping down anteriorly; sternum in front.
    ring = np.broadcast_to(_ellipse(anat, p.fat_mm + 3.0), full) & ~np.broadcast_to(
        _ellipse(anat, p.fat_mm + 13.0), full
    )
    pitch = 28.0 / anat.length
    band = np.mod(anat.t / pitch + 0.9 * anat.v, 1.0) < 0.32
    front = (np.abs(anat.u) < 0.2) & (anat.v < 0)
    ribs = ring & band & ~front
    hu[ribs] = 520.0
    sternum = (np.abs(anat.u) < 0.09) & front & ring & (anat.t > 0.3) & (anat.t < 0.97)
    hu[sternum] = 380.0
    # Upper abdomen under the diaphragm: liver on the right, stomach with a gas bubble on the left.
    under = cavity & (anat.t < anat.dome_t(anat.u, anat.v))
    liver = under & (anat.u < 0.15)
    hu[liver] = 55.0
    hu[under & ~liver] = 20.0
    dome = anat.params.dome
    stomach = ellipsoid(anat.grid, anat.mm(0.42, -0.15, dome - 0.04), (0.22 * anat.a, 0.3 * anat.b, 30.0))
    paint(hu, stomach, 28.0, limit=under)
    gas = ellipsoid(anat.grid, anat.mm(0.42, -0.32, dome - 0.02), (0.14 * anat.a, 0.12 * anat.b, 18.0))
    paint(hu, gas, -1000.0, limit=under)
    anat.masks.update(body=body, cavity=cavity & ~ribs & ~sternum, abdomen=under)


def _lungs(anat: Anatomy, rng: np.random.Generator) -> None:
    cavity = anat.masks["cavity"]
    above = anat.t > anat.dome_t(anat.u, anat.v)
    texture = 25.0 * smooth_noise(anat.grid.shape, (7, 6, 6), rng)
    for side in SIDES:
        shape = (anat.lung_radius(side) <= 1.0) & cavity & above
        anat.masks[f"lung_{side}"] = shape
        anat.hu[shape] = (LUNG_HU + 45.0 * (anat.v - LUNG_CENTRE_V) + texture)[shape]


def _carve(anat: Anatomy, region: np.ndarray) -> None:
    """Remove ``region`` from both lungs (structures painted over them)."""
    for side in SIDES:
        anat.masks[f"lung_{side}"] = anat.masks[f"lung_{side}"] & ~region


def _heart(anat: Anatomy) -> None:
    p, grid = anat.params, anat.grid
    radii = (0.34 * anat.a * p.heart_scale, 0.4 * anat.b * p.heart_scale, 0.3 * anat.a * p.heart_scale)
    centre = anat.mm(p.heart_u, -0.2, p.dome + 0.04)
    centre = (centre[0], centre[1], centre[2] + 0.8 * radii[2])
    anat.heart_centre, anat.heart_radii = centre, radii
    fat = ellipsoid(grid, centre, tuple(r + 6.0 for r in radii))
    heart = ellipsoid(grid, centre, radii)
    above = anat.t > anat.dome_t(anat.u, anat.v) - 0.02
    paint(anat.hu, fat, -80.0, limit=above)
    paint(anat.hu, heart, 45.0, limit=above)
    blood = 180.0 if p.contrast else 38.0
    paint(anat.hu, ellipsoid(grid, centre, tuple(0.7 * r for r in radii)), blood)
    region = fat.mask(grid.shape, 0.01) & above if fat else np.zeros(grid.shape, bool)
    anat.masks["heart"] = heart.mask(grid.shape) & above if heart else np.zeros(grid.shape, bool)
    anat.masks["pericardial_fat"] = region & ~anat.masks["heart"]
    _carve(anat, region)


def _mediastinum(anat: Anatomy) -> None:
    grid, hu, p = anat.grid, anat.hu, anat.params
    top = 1.05
    band = (np.abs(anat.u - 0.02) < 0.13) & (anat.v < 0.25) & (anat.t > p.dome)
    band = band & anat.masks["cavity"]
    _carve(anat, band)
    anat.masks["mediastinum"] = band & ~anat.masks["heart"]
    blood = 180.0 if p.contrast else 40.0
    hc = anat.heart_centre
    asc = np.array(
        [
            (hc[0] - 0.1 * anat.a, anat.mm(0, -0.12, 0)[1], hc[2]),
            anat.mm(0.0, -0.12, 0.74),
            anat.mm(0.06, 0.02, 0.8),
            anat.mm(0.14, 0.14, 0.79),
            anat.mm(0.17, 0.2, 0.72),
            anat.mm(0.17, 0.2, -0.05),
        ]
    )
    radii = np.array([15.0, 15.0, 14.0, 13.0, 12.0, 11.0])
    aorta = tube(grid, asc, radii)
    paint(hu, aorta, blood)
    anat.aorta_path, anat.aorta_radii = asc, radii
    anat.masks["aorta"] = aorta.mask(grid.shape) if aorta else np.zeros(grid.shape, bool)
    _carve(anat, aorta.mask(grid.shape, 0.01) if aorta else anat.masks["aorta"])
    # Pulmonary trunk to both hila.
    trunk = np.array([anat.mm(p.heart_u, -0.3, p.dome + 0.25), anat.mm(0.08, -0.12, 0.62)])
    paint(hu, tube(grid, trunk, 12.0), blood)
    for s in SIDES.values():
        paint(hu, tube(grid, np.array([trunk[1], anat.mm(s * 0.27, -0.02, 0.6)]), 8.0), blood)
    # Trachea and main bronchi (air, thin wall), oesophagus in front of the spine.
    trachea = np.array([anat.mm(0.0, -0.07, top), anat.mm(0.0, -0.07, 0.68)])
    paint(hu, tube(grid, trachea, 11.0), 40.0)
    paint(hu, tube(grid, trachea, 8.5), -1000.0)
    for s in SIDES.values():
        bronchus = np.array([trachea[1], anat.mm(s * 0.25, -0.03, 0.61)])
        paint(hu, tube(grid, bronchus, 8.0), 40.0)
        paint(hu, tube(grid, bronchus, 5.5), -1000.0)
    oesophagus = np.array([anat.mm(0.03, 0.07, top), anat.mm(0.05, 0.07, p.dome - 0.02)])
    paint(hu, tube(grid, oesophagus, 8.0), 35.0)
    paint(hu, tube(grid, oesophagus, 2.5), -900.0)
    anat.masks["oesophagus"] = tube(grid, oesophagus, 8.0).mask(grid.shape)  # type: ignore[union-attr]


def _spine(anat: Anatomy) -> None:
    grid, hu = anat.grid, anat.hu
    body_c, r = anat.mm(0.0, 0.3, 0.0), 0.16 * anat.b
    x, y, z = grid.x, grid.y, grid.z
    d = np.sqrt((x - body_c[0]) ** 2 + (y - body_c[1]) ** 2)
    vertebra = np.broadcast_to(d <= r, grid.shape)
    disc = np.cos(2 * np.pi * z / 26.0) > 0.82
    hu[vertebra] = np.where(np.broadcast_to(disc, grid.shape), 85.0, 250.0)[vertebra]
    rim = vertebra & np.broadcast_to(d > r - 3.5, grid.shape) & ~np.broadcast_to(disc, grid.shape)
    hu[rim] = 700.0
    canal_y = anat.yc + 0.52 * anat.b
    canal = np.broadcast_to(np.sqrt(x**2 + (y - canal_y) ** 2) <= 0.08 * anat.b, grid.shape)
    around = np.sqrt(x**2 + (y - canal_y) ** 2)
    lamina = (around <= 0.14 * anat.b) & (y >= canal_y - 0.02 * anat.b)
    spinous = (np.abs(x) < 0.035 * anat.a) & (y > canal_y) & (y < anat.yc + 0.86 * anat.b)
    arch = np.broadcast_to(lamina | spinous, grid.shape) & ~canal
    muscles = np.zeros(grid.shape, bool)
    for s in SIDES.values():
        e = ((x - s * 0.2 * anat.a) / (0.14 * anat.a)) ** 2 + ((y - anat.yc - 0.7 * anat.b) / (0.2 * anat.b)) ** 2
        muscles |= np.broadcast_to(e <= 1.0, grid.shape)
    hu[muscles & ~arch] = 50.0
    hu[arch] = 450.0
    hu[canal] = 15.0
    _carve(anat, vertebra | canal | arch | muscles)
    anat.masks["spine"] = vertebra | arch


# Where each lung's vessel/airway branches head, relative to the lung: (lateral, v, t).
_BRANCHES = (
    (0.0, 0.1, 0.92),
    (0.05, -0.35, 0.78),
    (0.3, 0.0, 0.62),
    (0.12, -0.38, 0.46),
    (0.05, 0.42, 0.55),
    (0.08, 0.45, 0.06),
    (0.3, 0.15, 0.08),
    (0.15, -0.22, 0.1),
)


def _airway_tree(anat: Anatomy, rng: np.random.Generator) -> None:
    """Pulmonary vessels and their companion bronchi, fanning from each hilum (inside the lungs)."""
    grid, hu = anat.grid, anat.hu
    blood = 180.0 if anat.params.contrast else 40.0
    for side, s in SIDES.items():
        lung = anat.lung(side)
        hilum = np.array(anat.mm(s * 0.28, -0.02, 0.6))
        airways = []
        for lateral, v, t in _BRANCHES:
            jit = rng.uniform(-0.05, 0.05, 3)
            t_abs = max(t + jit[2], 0.0) if t > 0.2 else float(anat.dome_t(s * 0.5, v)) + t + jit[2]
            end = np.array(anat.mm(s * (LUNG_CENTRE_U + lateral + jit[0]), v + jit[1], t_abs))
            mid = hilum + 0.45 * (end - hilum) + rng.uniform(-6, 6, 3)
            vessel = np.stack([hilum, mid, end])
            paint(hu, tube(grid, vessel, np.array([4.5, 3.0, 1.2])), blood, limit=lung)
            airway = vessel[:2] + np.array([0.0, 5.0, 3.0])
            airway = np.vstack([airway, airway[1] + 0.6 * (end - mid)])
            lumen = np.array([3.2, 2.2, 1.2])
            paint(hu, tube(grid, airway, lumen + 1.0), 20.0, limit=lung)
            paint(hu, tube(grid, airway, lumen), -960.0, limit=lung)
            airways.append((airway, lumen))
        anat.airways[side] = airways
