"""CT window presets and which preset suits which finding (Qt-free).

A window is a width and a level (centre) in HU, as on every PACS; napari wants contrast limits
``(level - width/2, level + width/2)``. The finding → preset map matches on words in the finding
name, so a project's own vocabulary gets sensible defaults too ("Subpleural nodule" → lung).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WindowPreset:
    """A named CT window: ``width`` and ``level`` in HU."""

    name: str
    width: float
    level: float

    @property
    def contrast_limits(self) -> tuple[float, float]:
        """napari contrast limits (low, high) in HU."""
        return (self.level - self.width / 2, self.level + self.width / 2)

    @classmethod
    def from_limits(cls, low: float, high: float, name: str = "custom") -> WindowPreset:
        return cls(name, float(high - low), float((high + low) / 2))


LUNG = WindowPreset("lung", 1500, -600)
MEDIASTINUM = WindowPreset("mediastinum", 400, 40)
BONE = WindowPreset("bone", 2500, 480)
PRESETS: dict[str, WindowPreset] = {p.name: p for p in (LUNG, MEDIASTINUM, BONE)}

# Words in a finding name → the window a radiologist reads it in. Order matters: the first match
# wins, so "pericardial effusion" is mediastinal before anything else can claim it. Calcification
# reads best in the mediastinal window (calcium bright against soft tissue; in a bone window a
# plaque is barely brighter than the wall); metal devices ("material") need the bone window.
_FINDING_WORDS: tuple[tuple[str, WindowPreset], ...] = (
    ("effusion", MEDIASTINUM),
    ("cardiomegaly", MEDIASTINUM),
    ("lymphadenopathy", MEDIASTINUM),
    ("hernia", MEDIASTINUM),
    ("calcification", MEDIASTINUM),
    ("material", BONE),
    ("fracture", BONE),
    ("emphysema", LUNG),
    ("atelectasis", LUNG),
    ("nodule", LUNG),
    ("opacity", LUNG),
    ("fibrotic", LUNG),
    ("mosaic", LUNG),
    ("peribronchial", LUNG),
    ("consolidation", LUNG),
    ("bronchiectasis", LUNG),
    ("septal", LUNG),
    ("pneumothorax", LUNG),
)


def preset_for_finding(finding: str) -> WindowPreset | None:
    """The window a finding is read in, or None when no word of its name is known."""
    name = finding.casefold()
    for word, preset in _FINDING_WORDS:
        if word in name:
            return preset
    return None


def adjusted(
    limits: tuple[float, float], *, width_factor: float = 1.0, level_shift: float = 0.0
) -> tuple[float, float]:
    """Contrast limits after widening/narrowing the window and moving its level (HU)."""
    low, high = limits
    width = max(1.0, (high - low) * width_factor)
    level = (high + low) / 2 + level_shift
    return (level - width / 2, level + width / 2)
