"""One training run end to end, as a job: labels → split → task → loop → model files → registry → scores.

``radcurate train`` (and the desktop's "Retrain", through ``project.start_job("train", ...)``) call
:func:`train`. The job row is the run's identity: its checkpoint lives in ``models/runs/job-<id>/``,
so ``--resume`` (or relaunching the job) continues from the last finished epoch; a finished run
registers its model, deletes the checkpoint, scores every study and records the test-split AUC
beside the previous model's of the same kind and start on the same (locked) test split.

Under ``torchrun`` every process calls :func:`train`; rank 0 owns the job row and does all
writing (engine/training/distributed.py).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from radcurate.engine.errors import InputError
from radcurate.engine.jobs import records as jobs
from radcurate.engine.training import distributed, model_files, registry, splits
from radcurate.engine.training.dataset import LabelTable, VolumeDataset, label_table, snapshot_hash
from radcurate.engine.training.loop import LoopConfig, Progress, fit
from radcurate.engine.training.registry import ModelRecord
from radcurate.engine.training.supervised import Architecture, SupervisedTask, build_network

if TYPE_CHECKING:
    from radcurate.engine.project import Project

KINDS = ("supervised", "clip", "probe")


@dataclass(frozen=True)
class TrainRequest:
    """What ``radcurate train`` was asked (also the job's stored parameters, so a resume repeats it)."""

    kind: str = "supervised"
    epochs: int | None = None
    init: str | None = None
    lock: bool = False
    withhold: tuple[str, ...] = ()
    finding: str | None = None
    from_model: str | None = None
    seed: int | None = None

    def params(self) -> dict[str, Any]:
        """Job parameters: the CLI options that reproduce this request (engine/jobs/launch.py)."""
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("epochs", "init", "finding", "from_model", "seed"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.lock:
            out["lock"] = True
        if self.withhold:
            out["withhold"] = ",".join(self.withhold)
        return out

    @property
    def start(self) -> str:
        if self.kind == "probe":
            return "probe"
        if self.kind == "clip" and self.init:
            return "locked" if self.lock else "init"
        return "scratch"

    def check(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown kind {self.kind!r}; expected one of: {', '.join(KINDS)}", field="kind")
        if self.lock and not self.init:
            raise InputError("--lock needs --init MODEL (the supervised encoder to freeze)", field="lock")
        if self.init and self.kind != "clip":
            raise InputError("--init is for --kind clip (start CLIP from a supervised model)", field="init")
        if self.kind == "probe" and (not self.finding or not self.from_model):
            raise InputError("--kind probe needs --finding F and --from MODEL", field="finding")
        if self.epochs is not None and self.epochs < 1:
            raise InputError("--epochs must be at least 1", field="epochs")


def run_dir(project: Project, job_id: int) -> Path:
    return project.path / "models" / "runs" / f"job-{job_id}"


def resumable_job(project: Project, request: TrainRequest) -> int | None:
    """The newest unfinished train job with the same parameters that left a checkpoint, if any."""
    for job in project.jobs(kind="train"):
        if job.status in jobs.RESUMABLE and job.params == request.params():
            if (run_dir(project, job.id) / "checkpoint.pt").exists():
                return job.id
    return None


def _requeue(project: Project, job_id: int) -> None:
    """Put a cancelled/failed/interrupted job back to ``queued`` so this process can claim it (as
    :func:`radcurate.engine.jobs.launch.launch` does before it starts a resumed job's subprocess)."""
    project.db.conn.execute(
        "UPDATE jobs SET status = 'queued', pid = NULL, finished_at = NULL, error = NULL, cancel_requested = 0 "
        "WHERE id = ? AND status IN ('failed', 'cancelled', 'interrupted')",
        (job_id,),
    )


@contextlib.contextmanager
def _job(project: Project, request: TrainRequest, job_id: int | None, where: distributed.Distributed) -> Iterator[Any]:
    if not where.is_main:
        yield None
        return
    with jobs.running(project.db, "train", request.params(), job_id=job_id) as handle:
        yield handle


def _share_job_id(handle: Any, where: distributed.Distributed) -> int:
    value = [handle.id if handle is not None else None]
    if where.active:
        import torch.distributed as dist

        dist.broadcast_object_list(value, src=0)
    return int(value[0])  # type: ignore[arg-type]


def _clip_task(project: Project, request: TrainRequest, table: LabelTable, arch: Architecture) -> tuple[Any, Any]:
    from radcurate.engine.training.clip_model import ClipModel, resnet18_encoder
    from radcurate.engine.training.clip_task import ClipTask
    from radcurate.engine.training.polarity_sentences import PolarityBank
    from radcurate.engine.training.prompts import DEFAULT_TEMPLATES
    from radcurate.engine.training.text_encoder import TextEncoder

    supervised = None
    if request.init:
        base = model_files.load(project, request.init)
        if base.record.kind != "supervised":
            raise InputError(f"--init needs a supervised model; {base.record.version} is {base.record.kind}")
        supervised, arch = base.task.model, Architecture(**base.payload["architecture"])
    encoder, width = resnet18_encoder(
        arch.channels,
        widen_factor=arch.widen_factor,
        conv1_t_size=arch.conv1_t_size,
        conv1_t_stride=arch.conv1_t_stride,
        pooling=arch.pooling,
    )
    model = ClipModel(encoder, width, TextEncoder(), len(table.findings))
    model.start_from(supervised, request.start)
    share = project.settings.training.clip_template_share
    bank = PolarityBank(table.findings, templates=DEFAULT_TEMPLATES, template_share=share)
    bank.add_rows(table.labels, table.mask, table.evidence)
    return ClipTask(model, table.findings, bank=bank), arch


def train(
    project: Project,
    request: TrainRequest,
    *,
    job_id: int | None = None,
    resume: bool = False,
    on_progress: Progress | None = None,
) -> ModelRecord | None:
    """Run ``request`` as a job; the registered model, or ``None`` when it was cancelled."""
    request.check()
    if request.kind == "probe":
        from radcurate.engine.training.probe import train_probe

        with jobs.running(project.db, "train", request.params(), job_id=job_id) as handle:
            return train_probe(project, request.finding or "", request.from_model or "", job_id=handle.id)
        return None
    where = distributed.from_environment()
    if job_id is None and resume and where.is_main:
        job_id = resumable_job(project, request)
        if job_id is None:
            raise InputError("nothing to resume: no interrupted train job with these options left a checkpoint")
        _requeue(project, job_id)
    settings = project.settings.training
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    seed = settings.seed if request.seed is None else request.seed
    model: ModelRecord | None = None
    with _job(project, request, job_id, where) as handle:
        shared_id = _share_job_id(handle, where)
        folder = run_dir(project, shared_id)
        if where.is_main:
            folder.mkdir(parents=True, exist_ok=True)
            splits.ensure_split(project.db, settings)
        distributed.barrier(where)
        split = splits.ensure_split(project.db, settings)
        table = label_table(project, settings, withhold=request.withhold, with_evidence=request.kind == "clip")
        train_rows = table.subset(splits.studies_in(split, ["train"]))
        val_rows = table.subset(splits.studies_in(split, ["val"]))
        if len(train_rows) == 0:
            raise InputError("the train split has no labelled study with a volume")
        channels = len(project.settings.preprocessing.windows)
        arch = Architecture.of(channels, len(table.findings), settings)
        torch.manual_seed(seed)
        if request.kind == "clip":
            task, arch = _clip_task(project, request, table, arch)
        else:
            task = SupervisedTask(build_network(arch), table.findings)
        config = LoopConfig.of(settings, epochs=request.epochs)
        config = LoopConfig(**{**asdict(config), "seed": seed})

        def progress(done: int, total: int, message: str) -> None:
            if handle is not None:
                handle.update(done, total, message)
            if on_progress is not None:
                on_progress(done, total, message)

        result = fit(
            task,
            VolumeDataset(project, train_rows, train=True, seed=seed, augment=settings.augment),
            VolumeDataset(project, val_rows, train=False),
            config,
            folder,
            resume=resume or (folder / "checkpoint.pt").exists(),
            where=where,
            on_progress=progress,
            should_stop=(lambda: handle.cancel_requested) if handle is not None else None,
        )
        if where.is_main:
            snapshot = snapshot_hash(table.subset([*train_rows.study_ids, *val_rows.study_ids]), settings)
            model = _register(project, request, task, arch, result, snapshot, shared_id, table, seed)
            shutil.rmtree(folder, ignore_errors=True)
            handle.update(message=f"registered {model.version}; scoring studies", force=True)
            from radcurate.engine.training.scoring import after_training

            model = after_training(project, model, split)
        distributed.barrier(where)
    distributed.shutdown(where)
    return model


def _register(
    project: Project,
    request: TrainRequest,
    task: Any,
    arch: Architecture,
    result: Any,
    snapshot: str,
    job_id: int,
    table: LabelTable,
    seed: int,
) -> ModelRecord:
    version = registry.next_version(project.db, request.kind)
    folder = project.path / "models" / version
    payload: dict[str, Any] = {
        "kind": request.kind,
        "findings": list(table.findings),
        "preprocessing": asdict(project.settings.preprocessing),
        "architecture": arch.as_json(),
        "state": result.state,
        "withheld": list(table.withheld),
    }
    parent = None
    if request.kind == "clip":
        from radcurate.engine.training.prompts import DEFAULT_TEMPLATES

        text = task.model.text_encoder
        payload["state"] = model_files.clip_state(result.state, text.frozen)
        payload["clip"] = {
            "embed_dim": int(task.model.image_projection.out_features),
            "text_model": "",
            "trainable_layers": int(text.trainable_layers),
            "start": request.start,
            "templates": [str(t) for t in task.objective.templates or DEFAULT_TEMPLATES],
        }
        if request.init:
            parent = registry.get(project.db, request.init).id
    files = [model_files.write(folder, payload)]
    metrics = {
        "final": _plain(result.final),
        "history": [_plain(h) for h in result.history],
        "kept_epoch": result.kept_epoch,
        "resumed_from_epoch": result.resumed_from,
        "labelled_studies": len(table),
    }
    settings = {
        "training": asdict(project.settings.training),
        "preprocessing": asdict(project.settings.preprocessing),
        "epochs": len(result.history),
        "seed": seed,
        "withhold": list(table.withheld),
        "architecture": arch.as_json(),
    }
    return registry.register(
        project.db,
        project.path,
        version=version,
        kind=request.kind,
        start=request.start,
        parent=parent,
        settings=settings,
        label_snapshot=snapshot,
        metrics=metrics,
        files=files,
        job_id=job_id,
    )


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in record.items()}
