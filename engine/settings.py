"""Typed project settings, read from ``radcurate.toml`` with defaults in code.

Every value is documented where it is declared (the ``help`` metadata); ``radcurate init`` writes
the file with those comments so a user can edit it by hand. Secrets never live here: the LLM API
key is read from the environment variable named by ``llm.api_key_env``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radcurate.engine.errors import InputError
from radcurate.engine.files.text_files import read_text_file


def _doc(text: str, default: Any) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class PreprocessingSettings:
    """How a volume becomes a network input (DESIGN §4); the cache key hashes all of these."""

    spacing: tuple[float, float, float] = _doc("target voxel size in mm along X (L), Y (P), Z (S)", (1.5, 1.5, 3.0))
    windows: tuple[tuple[float, float], ...] = _doc(
        "HU windows, one input channel each: [[lo, hi], ...]; each clips HU to [lo, hi] then scales "
        "(HU + scale_offset) / scale_divisor (the seed's [-1000, 200] hides metal and calcium: add a wide "
        "window such as [-200, 1500] to learn devices and calcifications)",
        ((-1000.0, 200.0),),
    )
    resampling: tuple[str, ...] = _doc(
        "how each window's channel is resampled to spacing, one entry per window: 'linear' (trilinear, "
        "MONAI's) or 'max' (each voxel keeps the highest HU under its footprint, so a calcified plaque or a "
        "wire smaller than a voxel is not averaged away); empty: every window 'linear'",
        (),
    )
    scale_offset: float = _doc("scaled = (HU + scale_offset) / scale_divisor", 400.0)
    scale_divisor: float = _doc("see scale_offset; (x+400)/600 maps [-1000, 200] to [-1, 1]", 600.0)
    shape: tuple[int, int, int] = _doc(
        "crop/pad size in voxels along X, Y, Z (train: random crop, eval: centre)", (192, 192, 96)
    )

    def resampling_modes(self) -> tuple[str, ...]:
        """One mode per window (empty ``resampling`` = all 'linear'); InputError when they disagree."""
        return _resampling_modes(self.resampling, len(self.windows))


RESAMPLING_MODES = ("linear", "max")


def _resampling_modes(resampling: Any, windows: int, path: Path | None = None) -> tuple[str, ...]:
    modes = tuple(resampling or ()) or ("linear",) * windows
    if len(modes) != windows:
        raise InputError(
            f"expected one entry per window ({windows} windows, {len(modes)} entries)",
            path=path,
            field="preprocessing.resampling",
        )
    bad = [m for m in modes if m not in RESAMPLING_MODES]
    if bad:
        raise InputError(
            f"unknown resampling {bad[0]!r}; expected one of: {', '.join(RESAMPLING_MODES)}",
            path=path,
            field="preprocessing.resampling",
        )
    return modes


def preprocessing_identity(values: dict[str, Any]) -> dict[str, Any]:
    """``asdict(PreprocessingSettings)`` as compared and hashed: all-'linear' resampling is left out.

    Files, cache entries and models from before ``resampling`` existed computed exactly that, so
    they keep their cache keys and still match a project whose windows are all 'linear'.
    """
    out = dict(values)
    windows = len(out.get("windows") or ((),))
    modes = tuple(out.pop("resampling", None) or ()) or ("linear",) * windows
    if any(m != "linear" for m in modes):
        out["resampling"] = modes
    return out


#: Global poolings the ResNet's classifier can sit on (engine/training/supervised.py).
POOLINGS = ("avg", "avgmax")

#: The seed's lung/soft-tissue window plus a wide bone/metal window.
TWO_WINDOWS: tuple[tuple[float, float], ...] = ((-1000.0, 200.0), (-200.0, 1500.0))
#: Their resampling: the wide window keeps each voxel's highest HU, so calcium and wires a voxel
#: wide survive 5 mm voxels (phantom, 256/128 cases: arterial wall calcification AUC 0.63 → 0.82,
#: coronary 0.63 → 0.75, the other findings unchanged; benchmarks/learning_results.md).
TWO_WINDOWS_RESAMPLING: tuple[str, ...] = ("linear", "max")
#: What both presets use: those two plus a calcium window (clinical calcium scoring starts at 130 HU),
#: also resampled "max". Below 100 HU it is flat, so it holds only contrast, calcium and bone and a
#: coronary speck is one of few bright things in it. On a phantom cohort no choice was made on
#: (256 train / 128 eval cases, three training seeds) coronary calcification rose from 0.84 to
#: 0.88 / 0.90 / 0.87 AUC, the other findings within their seed spread (benchmarks/learning_results.md).
PRESET_WINDOWS: tuple[tuple[float, float], ...] = (*TWO_WINDOWS, (100.0, 1000.0))
PRESET_RESAMPLING: tuple[str, ...] = (*TWO_WINDOWS_RESAMPLING, "max")


#: The label conventions the built-in extractors know (see the rules extractor's conventions files).
LABEL_CONVENTIONS: tuple[str, ...] = ("clinical", "ctrate")


@dataclass(frozen=True)
class ExtractionSettings:
    """Report → silver labels."""

    extractor: str = _doc("default extractor plugin: 'rules' (offline) or 'llm'", "rules")
    synonyms: str = _doc("optional synonym file for the rule-based extractor (path, relative to the project)", "")
    conventions: str = _doc(
        "label conventions both extractors follow: 'clinical' (what a radiologist means) or 'ctrate' "
        "(CT-RATE annotators' habits, for agreement with its labels)",
        "clinical",
    )


@dataclass(frozen=True)
class LLMSettings:
    """The OpenAI-compatible endpoint used by ``--extractor llm`` (OpenAI, Azure, vLLM, Ollama)."""

    model: str = _doc("model name as the endpoint knows it", "gpt-4o-mini")
    base_url: str = _doc("endpoint base URL; empty means the openai client's default", "")
    api_key_env: str = _doc("NAME of the environment variable holding the API key (never the key)", "OPENAI_API_KEY")
    price_input_per_mtok: float = _doc("USD per million input tokens, for cost records and --dry-run", 0.15)
    price_output_per_mtok: float = _doc("USD per million output tokens", 0.60)
    concurrency: int = _doc("requests in flight at once", 32)
    timeout_s: float = _doc("per-request timeout in seconds", 60.0)
    max_retries: int = _doc("client retries with backoff on 429/5xx/timeouts", 5)


@dataclass(frozen=True)
class PacsSettings:
    """Importing from a PACS (DICOMweb or DIMSE); credentials come from the environment, never from here."""

    calling_aet: str = _doc(
        "our DICOM AE title (the PACS must know it, with our host, for C-FIND/C-GET/C-MOVE)", "RADCURATE"
    )
    retrieve: str = _doc(
        "DIMSE retrieve: 'get' (C-GET, one association, no inbound port) or 'move' (C-MOVE to our storage SCP)", "get"
    )
    move_port: int = _doc("port of our storage SCP for C-MOVE (the PACS sends to calling_aet at this port)", 11112)
    timeout_s: float = _doc("seconds one network operation may take before it counts as failed", 30.0)
    retries: int = _doc("extra attempts per series after a dropped connection, 5xx, timeout or half series", 4)
    backoff_s: float = _doc("first wait before a retry in seconds; doubles each time (1, 2, 4, 8 ...)", 1.0)
    give_up_after: int = _doc("stop the import (rerun resumes) after this many series in a row fail to fetch", 3)
    credentials_env: str = _doc(
        "PREFIX of the environment variables with DICOMweb credentials: PREFIX_USER + PREFIX_PASSWORD, or "
        "PREFIX_TOKEN (a bearer token)",
        "RADCURATE_PACS",
    )
    netrc: str = _doc("netrc-style file with DICOMweb credentials by host (empty: ~/.netrc when present)", "")
    verify_tls: bool = _doc("check the PACS' HTTPS certificate (turn off only on a test system)", True)
    ca_bundle: str = _doc("CA bundle file for a PACS with a hospital-internal certificate (empty: system CAs)", "")


UNCERTAIN_AS = ("masked", "0", "1")


@dataclass(frozen=True)
class TrainingSettings:
    """How models learn from the project's labels (engine/training/); paper values are MONAI's GPU defaults."""

    uncertain: str = _doc("what an 'uncertain' label trains as: 'masked' (no loss), '0' or '1'", "masked")
    gold_weight: float = _doc("loss weight of a label readers decided (adjudicated or agreed)", 1.0)
    silver_weight: float = _doc("loss weight of an extractor's silver label", 0.5)
    val_fraction: float = _doc("share of patients in the validation split (fixed per project once drawn)", 0.15)
    test_fraction: float = _doc("share of patients in the locked test split", 0.15)
    split_seed: int = _doc("seed of the patient-level split (recorded with the split)", 0)
    seed: int = _doc("seed of weights, batches and augmentation (same seed, same run)", 0)
    epochs: int = _doc("training epochs", 40)
    batch_size: int = _doc("studies per optimiser step (per process under torchrun)", 4)
    learning_rate: float = _doc("AdamW peak learning rate", 1e-3)
    weight_decay: float = _doc("AdamW weight decay", 1e-4)
    warmup_epochs: float = _doc("linear warm-up length in epochs, then cosine decay to 0", 2.0)
    widen_factor: float = _doc("MONAI resnet18 width multiplier (0.5 on CPUs)", 1.0)
    conv1_t_size: int = _doc("MONAI resnet18 first-convolution kernel size", 7)
    conv1_t_stride: int = _doc("MONAI resnet18 first-convolution stride", 1)
    augment: bool = _doc("MONAI random crop, intensity scale/shift and Gaussian noise on training volumes", True)
    crop_shift_mm: float = _doc(
        "how far the training crop may move from the centre, mm per axis (MONAI RandSpatialCrop within the "
        "centre crop grown by it; negative: anywhere in the volume). Small, because where a finding sits is "
        "part of it: on the phantom, crops anywhere (up to 65 mm off) gave 0.77 macro AUC on a separate "
        "cohort, 10 mm gave 0.81",
        10.0,
    )
    augment_rotate_deg: float = _doc(
        "augmentation: largest random rotation in the axial plane, degrees (half of it about the other axes; "
        "0 with augment_scale 0: no random affine)",
        0.0,
    )
    augment_scale: float = _doc("augmentation: largest random zoom per axis, relative (0.1: ±10 %)", 0.0)
    pooling: str = _doc(
        "global pooling before the classifier: 'avg' (MONAI's) or 'avgmax' (average and maximum concatenated: "
        "a finding filling a few voxels, such as a nodule or a calcified plaque, is not averaged away)",
        "avg",
    )
    clip_template_share: float = _doc(
        "CLIP polarity pairs: share of pair sides phrased with the zero-shot prompt templates instead of "
        "report sentences (trains the prompts' own wording on the labelled findings; a withheld finding "
        "has no labels, so its prompts never train; 0.5 lifted zero-shot macro AUC 0.720 → 0.737 on the phantom)",
        0.5,
    )
    select: str = _doc("which epoch's weights a run keeps: 'last' or 'best' (validation macro AUC)", "last")
    threads: int = _doc(
        "torch CPU threads per process (0: torch's default; 1 is fastest on a machine shared with other work)", 0
    )


@dataclass(frozen=True)
class Settings:
    """All project settings; sections map to TOML tables of the same name."""

    preset: str = _doc("the preset this file started from: 'paper' or 'demo'", "paper")
    preprocessing: PreprocessingSettings = field(default_factory=PreprocessingSettings)
    extraction: ExtractionSettings = field(default_factory=ExtractionSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    pacs: PacsSettings = field(default_factory=PacsSettings)


PRESETS: dict[str, Settings] = {
    "paper": Settings(
        preset="paper", preprocessing=PreprocessingSettings(windows=PRESET_WINDOWS, resampling=PRESET_RESAMPLING)
    ),
    # CPU-sized: what `radcurate demo`, the benchmarks and the acceptance checks use.
    "demo": Settings(
        preset="demo",
        preprocessing=PreprocessingSettings(
            spacing=(5.0, 5.0, 8.0), shape=(64, 64, 32), windows=PRESET_WINDOWS, resampling=PRESET_RESAMPLING
        ),
        training=TrainingSettings(batch_size=8, widen_factor=0.5, conv1_t_size=3, conv1_t_stride=2),
    ),
}


def preset(name: str) -> Settings:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r}; expected one of: {', '.join(PRESETS)}", field="preset") from None


def _coerce_windows(value: Any, where: str, path: Path) -> tuple[tuple[float, float], ...]:
    """``[[lo, hi], ...]`` (at least one, lo < hi, HU) → a tuple of float pairs."""
    ok = isinstance(value, list) and value and all(isinstance(w, list) and len(w) == 2 for w in value)
    if not ok or not all(isinstance(v, int | float) and not isinstance(v, bool) for w in value for v in w):
        raise InputError(
            "expected a list of [lo, hi] HU pairs, e.g. [[-1000, 200], [-200, 1500]]", path=path, field=where
        )
    windows = tuple((float(lo), float(hi)) for lo, hi in value)
    if any(lo >= hi for lo, hi in windows):
        raise InputError("each HU window needs lo < hi", path=path, field=where)
    return windows


def _coerce(value: Any, default: Any, where: str, path: Path) -> Any:
    if where.endswith("preprocessing.windows"):
        return _coerce_windows(value, where, path)
    if where.endswith("preprocessing.resampling"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError('expected a list of "linear" | "max", one per window', path=path, field=where)
        return tuple(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or len(value) != len(default):
            raise InputError(f"expected a list of {len(default)} numbers", path=path, field=where)
        return tuple(_coerce(v, d, where, path) for v, d in zip(value, default, strict=True))
    if isinstance(default, bool) or isinstance(default, str):
        if type(value) is not type(default):
            raise InputError(f"expected a {type(default).__name__}", path=path, field=where)
        return value
    if isinstance(default, float) and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InputError(f"expected a {type(default).__name__}, got {value!r}", path=path, field=where)


def _build(cls: type, data: dict[str, Any], prefix: str, path: Path) -> Any:
    if cls is PreprocessingSettings and ("hu_min" in data or "hu_max" in data) and "windows" not in data:
        # Files written before windows were a list: their single clip becomes the one window.
        window = [data.get("hu_min", -1000.0), data.get("hu_max", 200.0)]
        data = {k: v for k, v in data.items() if k not in ("hu_min", "hu_max")} | {"windows": [window]}
    defaults = cls()
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise InputError(f"unknown setting (known: {', '.join(sorted(names))})", path=path, field=prefix + key)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        default = getattr(defaults, f.name)
        if dataclasses.is_dataclass(default):
            if not isinstance(data[f.name], dict):
                raise InputError("expected a table", path=path, field=prefix + f.name)
            values[f.name] = _build(type(default), data[f.name], f"{prefix}{f.name}.", path)
        else:
            values[f.name] = _coerce(data[f.name], default, prefix + f.name, path)
    return cls(**values)


def load(path: str | Path) -> Settings:
    """Read ``radcurate.toml``; missing keys take their defaults, unknown keys are an error."""
    path = Path(path)
    if not path.exists():
        raise InputError("settings file is missing", path=path)
    try:
        data = tomllib.loads(read_text_file(path, "settings file"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML ({exc})", path=path) from None
    settings: Settings = _build(Settings, data, "", path)
    _resampling_modes(settings.preprocessing.resampling, len(settings.preprocessing.windows), path)
    if settings.training.uncertain not in UNCERTAIN_AS:
        raise InputError(f"expected one of: {', '.join(UNCERTAIN_AS)}", path=path, field="training.uncertain")
    if not 0.0 <= settings.training.clip_template_share <= 1.0:
        raise InputError("expected a share between 0 and 1", path=path, field="training.clip_template_share")
    if settings.training.pooling not in POOLINGS:
        raise InputError(f"expected one of: {', '.join(POOLINGS)}", path=path, field="training.pooling")
    if settings.training.select not in ("last", "best"):
        raise InputError("expected 'last' or 'best'", path=path, field="training.select")
    if settings.pacs.retrieve not in ("get", "move"):
        raise InputError("expected 'get' or 'move'", path=path, field="pacs.retrieve")
    if settings.extraction.conventions not in LABEL_CONVENTIONS:
        raise InputError(
            f"unknown label conventions {settings.extraction.conventions!r}; expected one of: "
            + ", ".join(LABEL_CONVENTIONS),
            path=path,
            field="extraction.conventions",
        )
    return settings


def _toml_value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def render(settings: Settings) -> str:
    """TOML text for ``settings`` with every value's documentation as a comment."""
    lines = ["# radcurate project settings. Every key is optional; deleting one restores its default.", ""]
    tables = []
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if dataclasses.is_dataclass(value):
            tables.append((f.name, value))
        else:
            lines += [f"# {f.metadata.get('help', '')}", f"{f.name} = {_toml_value(value)}"]
    for name, table in tables:
        lines += ["", f"[{name}]", f"# {(type(table).__doc__ or name).splitlines()[0]}"]
        for f in dataclasses.fields(table):
            lines += [f"# {f.metadata.get('help', '')}", f"{f.name} = {_toml_value(getattr(table, f.name))}"]
    return "\n".join(lines) + "\n"
