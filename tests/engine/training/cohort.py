"""A tiny phantom cohort project for the learning tests, built once per session and copied per test.

16 NIfTI phantom cases at 12×12×16 mm (32×28×20 voxels), the rules extractor's silver labels and
the phantom's truth as a reference source; preprocessing 32×32×16 voxels at the same spacing and a
tiny ResNet (widen 0.25, stride-2 first convolution) so an epoch takes seconds on 2 shared cores.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from radcurate.engine.project import Project
from radcurate.engine.settings import PreprocessingSettings, TrainingSettings

CASES = 16
TINY_TOML = """
preset = "demo"

[preprocessing]
spacing = [12.0, 12.0, 16.0]
windows = [[-1000.0, 200.0], [-200.0, 1500.0]]
shape = [32, 32, 16]

[training]
epochs = 3
batch_size = 4
learning_rate = 0.003
warmup_epochs = 0.5
widen_factor = 0.25
conv1_t_size = 3
conv1_t_stride = 2
val_fraction = 0.25
test_fraction = 0.25
threads = 1
"""
TINY_PREPROCESSING = PreprocessingSettings(
    spacing=(12.0, 12.0, 16.0), windows=((-1000.0, 200.0), (-200.0, 1500.0)), shape=(32, 32, 16)
)
TINY_TRAINING = TrainingSettings(
    epochs=3,
    batch_size=4,
    learning_rate=0.003,
    warmup_epochs=0.5,
    widen_factor=0.25,
    conv1_t_size=3,
    conv1_t_stride=2,
    val_fraction=0.25,
    test_fraction=0.25,
    threads=1,
)


def build(root: Path, *, cases: int = CASES, seed: int = 5) -> Path:
    """Phantom → project (tiny settings) → import → rules extraction → truth source; returns the project folder."""
    from radcurate.engine.demo.phantom.cohort import generate_cohort

    phantom = root / "phantom"
    generate_cohort(phantom, cases, seed, shape=(32, 28, 20), spacing=(12.0, 12.0, 16.0), dicom_fraction=0.0)
    folder = root / "project"
    with Project.create(folder, preset="demo") as project:
        pass
    (folder / "radcurate.toml").write_text(TINY_TOML)
    with Project.open(folder) as project:
        project.import_paths([phantom], reports=[phantom / "reports.csv"])
        project.extract("rules")
        project.import_labels(phantom / "truth.csv", source="truth")
    return folder


def copy(template: Path, where: Path) -> Path:
    """A private copy of the template project (its volumes stay where the phantom wrote them)."""
    target = where / "project"
    shutil.copytree(template, target)
    return target
