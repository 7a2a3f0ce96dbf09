"""What a training run learns from: the project's labels as arrays, and the volumes as a torch dataset.

:func:`label_table` reads :meth:`Project.project_labels` — the project's gold where readers decided
(adjudicated or agreed), else the shown silver label; stale labels (report changed) are already
gone there — and maps states to targets (DESIGN §4): ``present`` → 1, ``absent`` and
``not_mentioned`` → 0, ``uncertain`` → masked (or 0 / 1, ``[training] uncertain``); an unresolved
disagreement and a finding nobody labelled are masked. Each cell's loss weight is
``gold_weight`` for a readers' label and ``silver_weight`` for a silver one. Columns are always
the project vocabulary in its order (the seed's out-of-order label list cannot happen), and a
withheld finding (``--withhold``) stays a column with its mask all 0, so CLIP can still score it
zero-shot while no loss ever sees it.

:func:`snapshot_hash` is the sha256 of exactly the cells a run trained and validated on (study,
finding, target, mask, weight) plus how they were mapped: the same labels give the same hash, one
changed decision a new one.

:class:`VolumeDataset` serves batches in the task interface (engine/training/clip_task.py): image
``[C, X, Y, Z]`` from the preprocessing cache (train: MONAI random crop + intensity/noise
augmentation, seeded by (seed, epoch, study) so a resumed run draws the same crops), labels, mask,
weight, study id, report text and per-finding evidence sentences.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.engine.settings import TrainingSettings
from radcurate.engine.vocabulary import LabelState
from radcurate.engine.volumes.preprocessing import jitter_voxels

if TYPE_CHECKING:
    from radcurate.engine.project import Project


@dataclass(frozen=True)
class LabelTable:
    """Targets for ``N`` studies × ``K`` findings (vocabulary order); arrays are float32 ``[N, K]``."""

    study_ids: tuple[str, ...]
    series_ids: tuple[str, ...]
    findings: tuple[str, ...]
    labels: np.ndarray
    mask: np.ndarray
    weight: np.ndarray
    reports: tuple[str, ...]
    evidence: tuple[tuple[str | None, ...], ...]
    withheld: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.study_ids)

    def subset(self, study_ids: Sequence[str]) -> LabelTable:
        """The rows of ``study_ids`` (those present), in that order."""
        index = {s: i for i, s in enumerate(self.study_ids)}
        rows = [index[s] for s in study_ids if s in index]
        return LabelTable(
            tuple(self.study_ids[i] for i in rows),
            tuple(self.series_ids[i] for i in rows),
            self.findings,
            self.labels[rows],
            self.mask[rows],
            self.weight[rows],
            tuple(self.reports[i] for i in rows),
            tuple(self.evidence[i] for i in rows),
            self.withheld,
        )

    def positives(self) -> dict[str, tuple[int, int]]:
        """(negatives, positives) counted over unmasked cells, per finding."""
        pos = ((self.labels > 0.5) & (self.mask > 0)).sum(0)
        neg = ((self.labels <= 0.5) & (self.mask > 0)).sum(0)
        return {f: (int(n), int(p)) for f, n, p in zip(self.findings, neg, pos, strict=True)}


def target(state: LabelState | None, uncertain: str) -> float | None:
    """The training target of a label state, or ``None`` where the cell is masked."""
    if state is None:
        return None
    if state is LabelState.PRESENT:
        return 1.0
    if state in (LabelState.ABSENT, LabelState.NOT_MENTIONED):
        return 0.0
    return None if uncertain == "masked" else float(uncertain)


def label_table(
    project: Project, settings: TrainingSettings, *, withhold: Sequence[str] = (), with_evidence: bool = True
) -> LabelTable:
    """Every study with a series and at least one label, as a :class:`LabelTable` (module docstring)."""
    findings = tuple(project.vocabulary)
    withheld = tuple(project.vocabulary.resolve(f) for f in withhold)
    position = {f: k for k, f in enumerate(findings)}
    labels_by_study = project.project_labels()
    rows: list[tuple[str, str, list[float], list[float], list[float], str, tuple[str | None, ...]]] = []
    for study_id, by_finding in labels_by_study.items():
        series = project.series(study_id)
        if not series:
            continue
        values, mask, weight = [0.0] * len(findings), [0.0] * len(findings), [0.0] * len(findings)
        for name, label in by_finding.items():
            value = target(label.state, settings.uncertain)
            if value is None or name in withheld or name not in position:
                continue
            k = position[name]
            values[k], mask[k] = value, 1.0
            weight[k] = settings.gold_weight if label.is_gold else settings.silver_weight
        report = project.report(study_id)
        quotes: tuple[str | None, ...] = (None,) * len(findings)
        if with_evidence:
            silver = project.silver(study_id)
            quotes = tuple(
                silver[f].evidence
                if f in silver and mask[k] > 0 and target(silver[f].state, settings.uncertain) == values[k]
                else None
                for k, f in enumerate(findings)
            )
        rows.append((study_id, series[0].id, values, mask, weight, report.text if report else "", quotes))
    if not rows:
        raise InputError("no study has both a volume and labels: import volumes and run `radcurate extract` first")
    return LabelTable(
        tuple(r[0] for r in rows),
        tuple(r[1] for r in rows),
        findings,
        np.asarray([r[2] for r in rows], dtype=np.float32),
        np.asarray([r[3] for r in rows], dtype=np.float32),
        np.asarray([r[4] for r in rows], dtype=np.float32),
        tuple(r[5] for r in rows),
        tuple(r[6] for r in rows),
        withheld,
    )


def snapshot_hash(table: LabelTable, settings: TrainingSettings) -> str:
    """sha256 (hex) of the cells a run used and how states were mapped (module docstring)."""
    digest = hashlib.sha256()
    header = {"findings": table.findings, "withheld": table.withheld, "uncertain": settings.uncertain}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for i in np.argsort(np.asarray(table.study_ids, dtype=object)):
        cells = [
            [f, float(table.labels[i, k]), float(table.weight[i, k])]
            for k, f in enumerate(table.findings)
            if table.mask[i, k] > 0
        ]
        digest.update(json.dumps([table.study_ids[i], cells]).encode())
    return digest.hexdigest()


def sample_seed(seed: int, epoch: int, study_id: str) -> int:
    """A 31-bit seed for one study's crop and augmentation in one epoch (resume draws the same)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{epoch}:{study_id}".encode()).digest()[:4], "big") >> 1


class VolumeDataset:
    """Map-style torch dataset over a :class:`LabelTable` (``__getitem__`` → one sample dict)."""

    def __init__(self, project: Project, table: LabelTable, *, train: bool, seed: int = 0, augment: bool = True):
        self.project = project
        self.table = table
        self.train = train
        self.seed = seed
        self.augment = augment and train
        settings = project.settings.training
        self.affine = {"rotate_deg": settings.augment_rotate_deg, "scale": settings.augment_scale}
        # how far the training crop may move from the centre (voxels per axis; None: anywhere)
        self.jitter = jitter_voxels(settings.crop_shift_mm, project.settings.preprocessing.spacing)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.table)

    def image(self, i: int) -> np.ndarray:
        """``[C, X, Y, Z]`` float32 network input of row ``i`` (cache; train: crop + augmentation)."""
        study_id = self.table.study_ids[i]
        if not self.train:
            return self.project.preprocessed(self.table.series_ids[i])
        seed = sample_seed(self.seed, self.epoch, study_id)
        image = self.project.preprocessed(self.table.series_ids[i], train=True, seed=seed, jitter=self.jitter)
        if self.augment:
            from radcurate.engine.training.augmentation import augment

            image = augment(image, seed, **self.affine)
        return image

    def __getitem__(self, i: int) -> dict[str, Any]:
        import torch

        t = self.table
        return {
            "image": torch.from_numpy(np.ascontiguousarray(self.image(i))),
            "labels": torch.from_numpy(t.labels[i]),
            "mask": torch.from_numpy(t.mask[i]),
            "weight": torch.from_numpy(t.weight[i]),
            "study_id": t.study_ids[i],
            "report": t.reports[i],
            "evidence": list(t.evidence[i]),
        }


def collate(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep strings and evidence (which may hold ``None``) as lists."""
    import torch

    out: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return out
