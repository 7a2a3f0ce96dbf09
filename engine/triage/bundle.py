"""Open a triage bundle: check every byte against its manifest, then build onnxruntime sessions.

Nothing here imports torch or monai (an import-linter contract guards the package): a core
``pip install radcurate`` runs triage. The checks, in order, each an
:class:`~radcurate.engine.errors.InputError` naming the file at fault:

1. ``manifest.json`` parses and is a radcurate bundle of a known format version;
2. its ``manifest_sha256`` matches the file (hashed with that value written as 64 zeros), so an
   edited manifest is caught even though it holds the other hashes;
3. every listed file exists and has its sha256; a file present but not listed is refused too
   (a swapped ``.onnx.data`` side file must not slip in); hidden files (``.DS_Store``) are ignored.

Sessions use onnxruntime's CPU provider with full graph optimisation (``ORT_ENABLE_ALL``), the
memory arena and pattern planner on, sequential execution, and ``threads`` intra-op threads (0:
onnxruntime's choice, one per physical core). The text graph and tokenizer are opened only when a
free-text question needs them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.engine.volumes.numpy_preprocessing import PreprocessingRecipe

MANIFEST = "manifest.json"
FORMAT = "radcurate-onnx-bundle"
SUPPORTED_VERSIONS = (1,)
_ZEROS = "0" * 64


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the bundle at ``folder``, its own hash checked (files not checked yet)."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise InputError("not a bundle folder", path=folder)
    if not path.is_file():
        raise InputError(
            "not a radcurate bundle (no manifest.json); make one with `radcurate export-onnx`", path=folder
        )
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"manifest is damaged ({exc})", path=path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError("not a radcurate ONNX bundle manifest", path=path, field="format")
    if manifest.get("format_version") not in SUPPORTED_VERSIONS:
        raise InputError(
            f"bundle format {manifest.get('format_version')!r} is not supported by this radcurate", path=path
        )
    stated = str(manifest.get("manifest_sha256", ""))
    text = raw.decode("utf-8")
    if len(stated) != 64 or text.count(stated) != 1:
        raise InputError("manifest hash is missing or damaged: the manifest was changed", path=path)
    if hashlib.sha256(text.replace(stated, _ZEROS).encode("utf-8")).hexdigest() != stated:
        raise InputError("sha256 mismatch: the manifest was changed after export", path=path)
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every listed file present with its sha256, and no unlisted file (see module docstring)."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise InputError("manifest lists no files", path=folder / MANIFEST, field="files")
    for name, digest in sorted(files.items()):
        path = folder / name
        if ".." in Path(name).parts or not path.is_file():
            raise InputError("listed in the manifest but missing", path=path)
        if _sha256(path) != digest:
            raise InputError("sha256 mismatch: this file changed after export", path=path)
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and rel.as_posix() != MANIFEST and rel.as_posix() not in files:
            if not any(part.startswith(".") for part in rel.parts):
                raise InputError(
                    "file not listed in the manifest (a bundle must be exactly what was exported)", path=path
                )


def session_options(threads: int = 0) -> Any:
    """onnxruntime options for CPU inference (module docstring)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = max(int(threads), 0)
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = True
    options.log_severity_level = 3
    return options


@dataclass
class Bundle:
    """A verified bundle: its manifest, preprocessing recipe and (lazily) its sessions."""

    folder: Path
    manifest: dict[str, Any]
    recipe: PreprocessingRecipe
    threads: int = 0
    _sessions: dict[str, Any] = field(default_factory=dict, repr=False)
    _tokenizer: Any = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def findings(self) -> list[str]:
        return [str(f) for f in self.manifest["vocabulary"]]

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"]["id"])

    def session(self, graph: str) -> Any:
        """The onnxruntime session of graph ``"image"`` or ``"text"``, created once."""
        if graph not in self._sessions:
            import onnxruntime as ort

            spec = self.manifest["graphs"].get(graph)
            if spec is None:
                raise InputError(f"this {self.kind} bundle has no {graph} graph", path=self.folder)
            path = self.folder / spec["file"]
            try:
                self._sessions[graph] = ort.InferenceSession(
                    str(path), session_options(self.threads), providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
                raise InputError(f"onnxruntime cannot load the graph ({exc})", path=path) from None
        return self._sessions[graph]

    def prompt_embeddings(self) -> np.ndarray:
        """``[templates, findings, 2, D]`` float32 (CLIP bundles)."""
        return np.load(self.folder / self.manifest["zero_shot"]["prompt_embeddings"], allow_pickle=False)

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` ``[N, max_tokens]`` int64 with the bundle's tokenizer."""
        spec = self.manifest["graphs"]["text"]
        length = int(spec["max_tokens"])
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.folder / spec["tokenizer"]))
            pad_id = tokenizer.token_to_id("[PAD]")
            tokenizer.enable_truncation(max_length=length)
            tokenizer.enable_padding(length=length, pad_id=pad_id or 0, pad_token="[PAD]" if pad_id is not None else "")
            self._tokenizer = tokenizer
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64).reshape(len(texts), length)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64).reshape(len(texts), length)
        return ids, mask


def open_bundle(folder: str | Path, *, threads: int = 0) -> Bundle:
    """Read, verify and describe the bundle at ``folder`` (raises InputError naming the file at fault)."""
    folder = Path(folder).expanduser()
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    try:
        recipe = PreprocessingRecipe.from_json(manifest["preprocessing"])
        if manifest["kind"] not in ("clip", "supervised") or not manifest["vocabulary"]:
            raise KeyError("kind/vocabulary")
        manifest["graphs"]["image"]["file"]
    except (KeyError, TypeError) as exc:
        raise InputError(f"manifest is incomplete ({exc})", path=folder / MANIFEST) from None
    return Bundle(folder, manifest, recipe, threads)
