"""The generic training loop: AdamW, linear warm-up then cosine decay, atomic checkpoints, cancel, resume.

It drives any *task* (``task.model``, ``task.parameters()``, ``task.loss(batch)``,
``task.predict(batch)``: the supervised ResNet, CLIP) over a :class:`VolumeDataset`.

Reproducible by construction, so that a run killed with SIGKILL and resumed ends with exactly the
metrics of an uninterrupted run of the same seed:

* the epoch's order is drawn from ``(seed, epoch)``, each study's crop and augmentation from
  ``(seed, epoch, study)``, and torch's global generator (CLIP's random sentence choices) is
  re-seeded from ``(seed, epoch, rank)`` at the start of every epoch — nothing depends on how many
  epochs this process has run;
* after every epoch the model, optimiser, scheduler and history go to ``checkpoint.pt``, written to
  a temporary file and renamed (:mod:`radcurate.engine.files.atomic`), so a kill leaves the previous
  checkpoint or the new one, never half of one; resuming restarts at the first unfinished epoch.

Cancel is cooperative: ``should_stop()`` is asked after each step (rank 0's answer counts under
torchrun); the loop then stops, keeping the last epoch's checkpoint, and raises
:class:`~radcurate.engine.jobs.records.JobCancelled`.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from radcurate.engine.files import atomic
from radcurate.engine.jobs.records import JobCancelled
from radcurate.engine.settings import TrainingSettings
from radcurate.engine.training import distributed
from radcurate.engine.training.dataset import VolumeDataset, collate
from radcurate.engine.training.distributed import SINGLE, Distributed
from radcurate.engine.training.metrics import macro, masked_aucs

CHECKPOINT = "checkpoint.pt"
Progress = Callable[[int, int, str], None]  # (steps done, steps in the run, message)


@dataclass(frozen=True)
class LoopConfig:
    """The optimisation settings of one run (from ``[training]``, with the CLI's overrides)."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_epochs: float
    seed: int
    select: str = "last"

    @classmethod
    def of(cls, settings: TrainingSettings, *, epochs: int | None = None) -> LoopConfig:
        return cls(
            epochs if epochs is not None else settings.epochs,
            settings.batch_size,
            settings.learning_rate,
            settings.weight_decay,
            settings.warmup_epochs,
            settings.seed,
            settings.select,
        )


@dataclass
class FitResult:
    """What a run ends with: the kept weights, per-epoch history, and which epoch was kept."""

    state: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    kept_epoch: int = 0
    resumed_from: int = 0

    @property
    def final(self) -> dict[str, Any]:
        return self.history[self.kept_epoch - 1] if self.history else {}


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor: linear from ~0 to 1 over ``warmup`` steps, then cosine to 0 at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def batches(order: list[int], size: int) -> list[list[int]]:
    """``order`` in chunks of ``size``; a last chunk of one joins the one before (BatchNorm needs two)."""
    out = [order[i : i + size] for i in range(0, len(order), size)]
    if len(out) > 1 and len(out[-1]) == 1:
        tail = out.pop()
        out[-1] = out[-1] + tail
    return out


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:4], "big") >> 1


def _save(path: Path, payload: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic.write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path`` or ``None`` (missing)."""
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def predict(task: Any, data: VolumeDataset, batch_size: int) -> np.ndarray:
    """``task.predict`` over every row of ``data`` (eval mode): ``[N, K]`` float scores."""
    task.model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            batch = collate([data[i] for i in range(start, min(len(data), start + batch_size))])
            out.append(task.predict(batch).detach().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(data.table.findings)), np.float32)


def validate(task: Any, data: VolumeDataset | None, batch_size: int) -> dict[str, Any]:
    """Per-finding AUC on the validation rows' labelled cells, and its macro mean."""
    if data is None or len(data) == 0:
        return {"val_auc": {}, "val_macro": float("nan")}
    scores = predict(task, data, batch_size)
    aucs = masked_aucs(scores, data.table.labels, data.table.mask, data.table.findings)
    return {"val_auc": aucs, "val_macro": macro(aucs)}


def fit(
    task: Any,
    train: VolumeDataset,
    val: VolumeDataset | None,
    config: LoopConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    where: Distributed = SINGLE,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FitResult:
    """Train ``task`` for ``config.epochs`` epochs (module docstring); returns the kept weights."""
    torch.manual_seed(_seed(config.seed, "init"))
    params = list(task.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(batches(distributed.shard(list(range(len(train))), where), config.batch_size)))
    total = steps_per_epoch * config.epochs
    warmup = int(round(config.warmup_epochs * steps_per_epoch))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, warmup, total))
    result = FitResult(state={})
    best: tuple[float, int, dict[str, Any]] | None = None
    path = Path(run_dir) / CHECKPOINT
    saved = load_checkpoint(path) if resume else None
    if saved is not None:
        task.model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        result.history = list(saved["history"])
        result.resumed_from = int(saved["epoch"])
        if saved.get("best") is not None:
            best = (saved["best"]["macro"], saved["best"]["epoch"], saved["best"]["state"])
    distributed.broadcast_state(task.model, where)
    for epoch in range(result.resumed_from, config.epochs):
        started = time.perf_counter()
        torch.manual_seed(_seed(config.seed, epoch, where.rank))
        train.set_epoch(epoch)
        order = [int(i) for i in np.random.default_rng([config.seed, epoch]).permutation(len(train))]
        mine = distributed.shard(order, where)
        task.model.train()
        losses = []
        for step, rows in enumerate(batches(mine, config.batch_size)):
            batch = collate([train[i] for i in rows])
            loss = task.loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            distributed.average_gradients(params, where)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            done = epoch * steps_per_epoch + step + 1
            if on_progress is not None and where.is_main:
                on_progress(done, total, f"epoch {epoch + 1}/{config.epochs} loss {np.mean(losses):.4f}")
            if distributed.agree(bool(should_stop and where.is_main and should_stop()), where):
                raise JobCancelled(f"training cancelled in epoch {epoch + 1}; the checkpoint of epoch {epoch} stays")
        distributed.broadcast_state(task.model, where)
        record: dict[str, Any] = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else float("nan")}
        if where.is_main:
            record |= validate(task, val, config.batch_size)
            record["seconds"] = round(time.perf_counter() - started, 3)
            result.history.append(record)
            if config.select == "best" and not math.isnan(record["val_macro"]):
                if best is None or record["val_macro"] > best[0]:
                    best = (record["val_macro"], epoch + 1, _copy_state(task.model))
            _save(
                path,
                {
                    "epoch": epoch + 1,
                    "model": task.model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "history": result.history,
                    "best": None if best is None else {"macro": best[0], "epoch": best[1], "state": best[2]},
                },
            )
        distributed.barrier(where)
    if best is not None and config.select == "best":
        result.state, result.kept_epoch = best[2], best[1]
    else:
        result.state, result.kept_epoch = _copy_state(task.model), len(result.history)
    return result


def _copy_state(model: torch.nn.Module) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
