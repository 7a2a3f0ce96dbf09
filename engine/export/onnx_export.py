"""Export a trained model to a triage bundle (``radcurate export-onnx``): graphs, prompts, parity, int8.

Two kinds. **clip** (the zero-shot model): the image encoder and the text encoder as ONNX graphs,
the tokenizer files, and the prompt embeddings of every finding × template computed once here,
so triage scores the fixed findings with one image pass and a dot product, and embeds a typed
question with the text graph. The scoring rule is the training code's
(:func:`radcurate.engine.training.zero_shot.zero_shot_probabilities`): ``sigmoid(scale · (cos(image,
positive) − cos(image, negative)))``, prompts ensembled as the manifest says. **supervised**: the
classifier graph; scores are ``sigmoid(logits)``.

Every graph is checked against torch before the bundle is written (:data:`~radcurate.engine.export
.onnx_graphs.PARITY_TOLERANCE`), and the figures go into the manifest. ``int8`` quantizes the image
graph with onnxruntime (static QDQ, per-channel weights, calibrated on training inputs) and keeps
it only when the macro AUC on the evaluation split drops by at most :data:`INT8_MAX_AUC_DROP`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.engine.export import onnx_graphs
from radcurate.engine.export.onnx_bundle import copy_tokenizer, write_bundle
from radcurate.engine.volumes.numpy_preprocessing import PreprocessingRecipe

INT8_MAX_AUC_DROP = 0.005
DEFAULT_MAX_TOKENS = 64  # word pieces per prompt or question in the text graph (padding is masked)
MAX_LOGIT_SCALE = float(np.log(100.0))


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about the model being exported (copied into the manifest)."""

    id: str
    kind: str
    parent: str | None = None
    label_snapshot: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """Preprocessed inputs and labels for the int8 decision: ``images [N, C, X, Y, Z]``, ``labels [N, K]``
    (1, 0, or -1 where unknown); ``calibration`` inputs for the static quantizer (training split)."""

    images: np.ndarray
    labels: np.ndarray
    calibration: np.ndarray


def fixed_length_tokens(tokenizer_json: Path, texts: Sequence[str], length: int) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` ``[N, length]`` int64, exactly as triage tokenizes."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_truncation(max_length=length)
    tokenizer.enable_padding(length=length, pad_id=pad_id or 0, pad_token="[PAD]" if pad_id is not None else "")
    encoded = tokenizer.encode_batch(list(texts))
    ids = np.array([e.ids for e in encoded], dtype=np.int64).reshape(len(texts), length)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64).reshape(len(texts), length)
    return ids, mask


def zero_shot_numpy(embeddings: np.ndarray, prompts: np.ndarray, scale: float, ensemble: str) -> np.ndarray:
    """The training rule in numpy: ``[B, D]`` × ``[T, K, 2, D]`` → ``[B, K]`` (triage has its own copy)."""
    if ensemble == "embedding":
        mean = prompts.mean(0, keepdims=True)
        prompts = mean / np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)
    difference = prompts[:, :, 0, :] - prompts[:, :, 1, :]
    logits = scale * np.einsum("bd,tkd->tbk", embeddings, difference)
    return (1.0 / (1.0 + np.exp(-logits))).mean(0)


def macro_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean ROC AUC over findings with both classes among the known (≥ 0) labels."""
    from sklearn.metrics import roc_auc_score

    aucs = []
    for k in range(labels.shape[1]):
        known = labels[:, k] >= 0
        column = labels[known, k]
        if column.size and column.min() != column.max():
            aucs.append(roc_auc_score(column, scores[known, k]))
    return float(np.mean(aucs)) if aucs else float("nan")


def _examples(recipe: PreprocessingRecipe, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo = min(w.out_min for w in recipe.windows)
    hi = max(w.out_max for w in recipe.windows)
    return rng.uniform(lo, hi, size=(n, recipe.channels, *recipe.shape)).astype(np.float32)


def _quantize(fp32: Path, int8: Path, calibration: np.ndarray, input_name: str) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter(calibration[i : i + 1] for i in range(len(calibration)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            row = next(self.rows, None)
            return None if row is None else {input_name: np.ascontiguousarray(row, dtype=np.float32)}

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs advice on the root logger; keep the CLI quiet
    try:
        quantize_static(
            str(fp32),
            str(int8),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
        )
    finally:
        root.setLevel(level)


def _int8_decision(
    graph: Path, evaluation: Evaluation, score: Any, input_name: str, report: dict[str, Any]
) -> Path | None:
    """Quantize ``graph``; return the int8 path when the macro AUC holds, else None (figures in ``report``)."""
    int8 = graph.with_name(graph.stem + ".int8.onnx")
    _quantize(graph, int8, evaluation.calibration, input_name)
    fp32_scores = score(onnx_graphs.ort_session(graph), evaluation.images)
    int8_scores = score(onnx_graphs.ort_session(int8), evaluation.images)
    fp32_auc = macro_auc(fp32_scores, evaluation.labels)
    int8_auc = macro_auc(int8_scores, evaluation.labels)
    kept = bool(np.isfinite(int8_auc) and fp32_auc - int8_auc <= INT8_MAX_AUC_DROP)
    report.update(
        fp32_macro_auc=fp32_auc,
        int8_macro_auc=int8_auc,
        max_score_change=float(np.abs(fp32_scores - int8_scores).max()),
        max_auc_drop=INT8_MAX_AUC_DROP,
        kept=kept,
        cases=int(len(evaluation.images)),
    )
    if kept:
        for side in graph.parent.glob(graph.name + "*"):
            side.unlink()  # the fp32 graph and its .onnx.data side file: the bundle ships one image graph
        return int8
    for side in graph.parent.glob(int8.name + "*"):
        side.unlink()
    return None


def _run_batches(session: Any, images: np.ndarray, batch: int = 8) -> np.ndarray:
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: images[i : i + batch]})[0] for i in range(0, len(images), batch)])


def export_clip(
    model: Any,
    out: Path,
    *,
    info: ModelInfo,
    findings: Sequence[str],
    templates: Sequence[tuple[str, str]],
    recipe: PreprocessingRecipe,
    text_model_dir: Path,
    ensemble: str = "embedding",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    int8: bool = False,
    evaluation: Evaluation | None = None,
) -> dict[str, Any]:
    """Write the CLIP bundle for ``model`` (``encode_image``, ``encode_text``, ``logit_scale``) at ``out``.

    ``templates`` are (positive, negative) sentences with the finding already substituted by
    :meth:`PromptTemplate.pair`-style formatting: pass ``[(t.positive, t.negative) ...]`` raw, with
    ``{finding}``/``{Finding}`` placeholders. Returns the manifest.
    """
    torch = onnx_graphs._torch()
    if int8 and evaluation is None:
        raise InputError("--int8 needs an evaluation split to check the AUC on", field="int8")
    model = model.eval()
    scale = float(np.exp(min(float(model.logit_scale.detach()), MAX_LOGIT_SCALE)))

    def populate(folder: Path) -> dict[str, Any]:
        models = folder / "models"
        copied = copy_tokenizer(Path(text_model_dir), models / "tokenizer")
        tokenizer_json = models / "tokenizer" / "tokenizer.json"
        image = _examples(recipe, 2)  # batch 2: torch.export specialises a batch of 1
        image_path = models / "image_encoder.onnx"
        onnx_graphs.export_graph(
            model.encode_image, [torch.from_numpy(image)], image_path, ["image"], "image_embedding"
        )
        image_diff = onnx_graphs.max_abs_diff(model.encode_image, image_path, {"image": image})
        onnx_graphs.check_parity("image encoder", image_diff)

        texts = [_pair(t, f)[side] for t in templates for f in findings for side in (0, 1)]
        ids, mask = fixed_length_tokens(
            tokenizer_json, texts[:2], max_tokens
        )  # batch 2: torch.export specialises a batch of 1
        text_path = models / "text_encoder.onnx"
        onnx_graphs.export_graph(
            model.encode_text,
            [torch.from_numpy(ids), torch.from_numpy(mask)],
            text_path,
            ["input_ids", "attention_mask"],
            "text_embedding",
        )
        prompts = onnx_graphs.torch_prompt_embeddings(
            model.encode_text, lambda t: fixed_length_tokens(tokenizer_json, t, max_tokens), texts
        )
        ids, mask = fixed_length_tokens(tokenizer_json, texts, max_tokens)
        ort_prompts = onnx_graphs.ort_session(text_path).run(None, {"input_ids": ids, "attention_mask": mask})[0]
        text_diff = float(np.abs(ort_prompts - prompts).max())
        onnx_graphs.check_parity("text encoder", text_diff)
        prompts = prompts.reshape(len(templates), len(findings), 2, -1)
        np.save(models / "prompt_embeddings.npy", prompts, allow_pickle=False)

        with torch.no_grad():
            torch_embed = model.encode_image(torch.from_numpy(image)).numpy()
        ort_embed = onnx_graphs.ort_session(image_path).run(None, {"image": image})[0]
        score_diff = float(
            np.abs(
                zero_shot_numpy(ort_embed, prompts, scale, ensemble)
                - zero_shot_numpy(torch_embed, prompts, scale, ensemble)
            ).max()
        )
        onnx_graphs.check_parity("zero-shot score", score_diff)

        quant: dict[str, Any] | None = None
        if int8 and evaluation is not None:
            quant = {}
            kept = _int8_decision(
                image_path,
                evaluation,
                lambda s, x: zero_shot_numpy(_run_batches(s, x), prompts, scale, ensemble),
                "image",
                quant,
            )
            image_path = kept or image_path
        width = int(prompts.shape[-1])
        return {
            "graphs": {
                "image": {
                    "file": f"models/{image_path.name}",
                    "input": "image",
                    "input_shape": ["batch", recipe.channels, *recipe.shape],
                    "output": "image_embedding",
                    "output_width": width,
                    "precision": "int8" if quant and quant["kept"] else "fp32",
                },
                "text": {
                    "file": "models/text_encoder.onnx",
                    "inputs": ["input_ids", "attention_mask"],
                    "max_tokens": max_tokens,
                    "output": "text_embedding",
                    "output_width": width,
                    "tokenizer": "models/tokenizer/tokenizer.json",
                    "tokenizer_files": [f"models/tokenizer/{n}" for n in copied],
                    "text_model": Path(text_model_dir).name,
                },
            },
            "zero_shot": {
                "rule": "sigmoid(scale * (cos(image, positive) - cos(image, negative))), mean over templates",
                "ensemble": ensemble,
                "scale": scale,
                "templates": [list(t) for t in templates],
                "prompt_embeddings": "models/prompt_embeddings.npy",
                "prompt_axes": ["template", "finding", "positive|negative", "dim"],
            },
            "parity": {
                "tolerance": onnx_graphs.PARITY_TOLERANCE,
                "image_embedding_max_abs_diff": image_diff,
                "text_embedding_max_abs_diff": text_diff,
                "score_max_abs_diff": score_diff,
            },
            "int8": quant,
        }

    manifest = {
        "kind": "clip",
        "model": _model_json(info),
        "vocabulary": list(findings),
        "preprocessing": recipe.as_json(),
        "opset": onnx_graphs.OPSET,
    }
    return write_bundle(out, manifest, populate)


def export_supervised(
    network: Any,
    out: Path,
    *,
    info: ModelInfo,
    findings: Sequence[str],
    recipe: PreprocessingRecipe,
    int8: bool = False,
    evaluation: Evaluation | None = None,
) -> dict[str, Any]:
    """Write the bundle of a supervised classifier (``network(x) -> logits [B, K]``) at ``out``."""
    torch = onnx_graphs._torch()
    if int8 and evaluation is None:
        raise InputError("--int8 needs an evaluation split to check the AUC on", field="int8")
    network = network.eval()

    def populate(folder: Path) -> dict[str, Any]:
        path = folder / "models" / "classifier.onnx"
        image = _examples(recipe, 2)
        onnx_graphs.export_graph(network.forward, [torch.from_numpy(image)], path, ["image"], "logits")
        diff = onnx_graphs.max_abs_diff(network.forward, path, {"image": image})
        onnx_graphs.check_parity("classifier", diff)
        quant: dict[str, Any] | None = None
        if int8 and evaluation is not None:
            quant = {}
            kept = _int8_decision(path, evaluation, lambda s, x: 1 / (1 + np.exp(-_run_batches(s, x))), "image", quant)
            path = kept or path
        return {
            "graphs": {
                "image": {
                    "file": f"models/{path.name}",
                    "input": "image",
                    "input_shape": ["batch", recipe.channels, *recipe.shape],
                    "output": "logits",
                    "output_width": len(findings),
                    "precision": "int8" if quant and quant["kept"] else "fp32",
                }
            },
            "scoring": {"rule": "sigmoid(logits)"},
            "parity": {"tolerance": onnx_graphs.PARITY_TOLERANCE, "logits_max_abs_diff": diff},
            "int8": quant,
        }

    manifest = {
        "kind": "supervised",
        "model": _model_json(info),
        "vocabulary": list(findings),
        "preprocessing": recipe.as_json(),
        "opset": onnx_graphs.OPSET,
    }
    return write_bundle(out, manifest, populate)


def _pair(template: tuple[str, str], finding: str) -> tuple[str, str]:
    low = finding[:1].lower() + finding[1:]
    cap = finding[:1].upper() + finding[1:]
    return template[0].format(finding=low, Finding=cap), template[1].format(finding=low, Finding=cap)


def _model_json(info: ModelInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "kind": info.kind,
        "parent": info.parent,
        "label_snapshot": info.label_snapshot,
        "metrics": info.metrics,
        "settings": info.settings,
    }
