"""A model's files on disk (``models/<version>/model.pt``) and loading it back as a ready task.

``model.pt`` is one ``torch.save`` dict: ``kind``, ``findings`` (vocabulary order), ``preprocessing``
(the settings it was trained on, windows included), ``architecture`` (see
:class:`~radcurate.engine.training.supervised.Architecture`), ``state`` (the weights) and, for CLIP,
``clip`` (embedding width, text model directory, start, prompt templates). A frozen CLIP text
transformer is left out of ``state`` (it is the packaged MiniLM, loaded offline again), so a CLIP
file is a few MB, not 90.

:func:`load` checks the file's sha256 against the registry first, and refuses a model trained on
other preprocessing than the project's, by name, rather than scoring garbage.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from radcurate.engine.errors import InputError
from radcurate.engine.files import atomic
from radcurate.engine.settings import PreprocessingSettings, preprocessing_identity
from radcurate.engine.training import registry
from radcurate.engine.training.registry import ModelRecord
from radcurate.engine.training.supervised import Architecture, SupervisedTask, build_network

if TYPE_CHECKING:
    from radcurate.engine.project import Project

MODEL_FILE = "model.pt"
_TEXT_PREFIX = "text_encoder.transformer."


@dataclass(frozen=True)
class LoadedModel:
    """A registered model with its task rebuilt and weights loaded (eval mode)."""

    record: ModelRecord
    task: Any  # SupervisedTask | ClipTask | ProbeTask
    payload: dict[str, Any]

    @property
    def findings(self) -> tuple[str, ...]:
        return tuple(self.payload["findings"])


def write(folder: Path, payload: dict[str, Any]) -> str:
    """Write ``model.pt`` atomically into ``folder``; returns its name (for the registry)."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic.write_bytes(folder / MODEL_FILE, buffer.getvalue())
    return MODEL_FILE


def supervised_payload(
    task: SupervisedTask, arch: Architecture, preprocessing: PreprocessingSettings, state: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": "supervised",
        "findings": list(task.findings),
        "preprocessing": asdict(preprocessing),
        "architecture": arch.as_json(),
        "state": state,
    }


def clip_state(state: dict[str, Any], text_frozen: bool) -> dict[str, Any]:
    """The CLIP weights to store: all but a frozen (packaged, reloadable) text transformer."""
    return {k: v for k, v in state.items() if not (text_frozen and k.startswith(_TEXT_PREFIX))}


def _check_preprocessing(record: ModelRecord, payload: dict[str, Any], project: Project) -> None:
    trained, now = payload.get("preprocessing") or {}, asdict(project.settings.preprocessing)
    # torch.save keeps tuples as tuples: an exact comparison, with all-'linear' resampling left out
    # (a model saved before the setting existed was trained on exactly that).
    if preprocessing_identity(trained) != preprocessing_identity(now):
        raise InputError(
            f"model {record.version} was trained on other preprocessing ({trained}) than this project's ({now}); "
            "score it in a project with the same [preprocessing] settings",
            field="preprocessing",
        )


def build_clip(payload: dict[str, Any]) -> Any:
    """A ClipTask with the stored weights (text transformer from the packaged model when frozen)."""
    from radcurate.engine.training.clip_model import ClipModel, resnet18_encoder
    from radcurate.engine.training.clip_task import ClipObjective, ClipTask
    from radcurate.engine.training.prompts import parse_templates
    from radcurate.engine.training.text_encoder import TextEncoder

    arch = Architecture(**payload["architecture"])
    clip = payload["clip"]
    encoder, width = resnet18_encoder(
        arch.channels,
        widen_factor=arch.widen_factor,
        conv1_t_size=arch.conv1_t_size,
        conv1_t_stride=arch.conv1_t_stride,
        pooling=arch.pooling,
    )
    text = TextEncoder(clip.get("text_model") or None, trainable_layers=int(clip.get("trainable_layers", 0)))
    model = ClipModel(encoder, width, text, arch.findings, embed_dim=int(clip["embed_dim"]))
    missing, unexpected = model.load_state_dict(payload["state"], strict=False)
    bad = [k for k in missing if not k.startswith(_TEXT_PREFIX)] + list(unexpected)
    if bad:
        raise InputError(f"CLIP weights do not fit the model ({', '.join(bad[:4])} ...)", field="model")
    model.start = clip.get("start", "scratch")
    templates = parse_templates(clip["templates"]) if clip.get("templates") else None
    objective = ClipObjective() if templates is None else ClipObjective(templates=templates)
    task = ClipTask(model, payload["findings"], objective=objective)
    model.eval()
    return task


def load(project: Project, model: int | str) -> LoadedModel:
    """The registered model ``model`` (id or version), verified and rebuilt, in eval mode."""
    record = registry.get(project.db, model)
    path = registry.verified_file(record, project.path, MODEL_FILE)
    payload = torch.load(path, map_location="cpu", weights_only=False)
    _check_preprocessing(record, payload, project)
    kind = payload["kind"]
    if kind == "supervised":
        network = build_network(Architecture(**payload["architecture"]))
        network.load_state_dict(payload["state"])
        network.eval()
        task: Any = SupervisedTask(network, tuple(payload["findings"]))
    elif kind == "clip":
        task = build_clip(payload)
    elif kind == "probe":
        from radcurate.engine.training.probe import ProbeTask

        base = load(project, payload["base"])
        task = ProbeTask.from_payload(base, payload)
    else:
        raise InputError(f"model {record.version} has unknown kind {kind!r}", field="model")
    return LoadedModel(record, task, payload)
