"""The triage bundle: a MONAI-bundle-shaped folder that runs anywhere with onnxruntime and numpy.

Layout (``OUT/``)::

    configs/metadata.json          MONAI bundle metadata (versions, network_data_format, task)
    models/image_encoder.onnx      CLIP: [B, C, X, Y, Z] -> L2-normalised [B, D]   (supervised: classifier.onnx, logits)
    models/text_encoder.onnx       CLIP: input_ids, attention_mask [B, T] -> L2-normalised [B, D]
    models/*.onnx.data             weights the exporter put beside a graph
    models/tokenizer/…             tokenizer.json and friends (read by the `tokenizers` library)
    models/prompt_embeddings.npy   [templates, findings, 2 (positive, negative), D] float32
    LICENSE, docs/README.md
    manifest.json                  everything triage needs, and the sha256 of every other file

``manifest.json`` holds the vocabulary, the preprocessing recipe (so a bundle computes the same
thing whatever a project's settings say later), the model id, kind, parent and label-snapshot
hash, the opset, the metrics, parity figures and the scoring rule, then ``files``: path → sha256.
Its own ``manifest_sha256`` is the sha256 of the file with that value written as 64 zeros, so one
changed byte anywhere, the manifest included, is caught and named by triage.

Atomic: everything is written into ``.OUT.partial-*`` beside ``OUT`` and moved into place with one
``os.replace``; a killed export leaves no folder that looks like a bundle. An existing ``OUT`` is
replaced only when it is itself a bundle (``manifest.json`` present), never an arbitrary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radcurate.engine import __version__
from radcurate.engine.errors import InputError

FORMAT = "radcurate-onnx-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_ZEROS = "0" * 64
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")

LICENSE_TEXT = """This bundle was exported by radcurate {version}.

The image and projection weights were trained by the bundle's owner on their own data; the text
encoder is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) unless the manifest names another
model. Check the licences of the training data before sharing this bundle outside your institution.
"""

README_TEXT = """# {title}

A radcurate triage bundle ({kind}) for chest CT: {n} findings, input {shape} voxels at {spacing} mm,
{channels} channel(s) (HU windows: {windows}).

Run it without torch:

    pip install radcurate
    radcurate triage BUNDLE /path/to/ct-series /path/to/volume.nii.gz --out scores.csv

`manifest.json` lists every file with its sha256; triage refuses a bundle whose files do not match.
Model {model_id}, label snapshot {snapshot}, exported {created}.
"""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _metadata(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``configs/metadata.json`` in the MONAI bundle schema's terms."""
    import numpy

    pre = manifest["preprocessing"]
    versions: dict[str, str] = {"onnxruntime": ">=1.17", "numpy": numpy.__version__}
    with_torch: dict[str, str] = {}
    try:  # export runs with the [train] extra; record what made the graphs
        import monai
        import torch

        with_torch = {"monai_version": monai.__version__, "pytorch_version": torch.__version__.split("+")[0]}
    except ImportError:
        pass
    clip = manifest["kind"] == "clip"
    output = "embedding" if clip else "logits"
    return {
        "schema": "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20220324.json",
        "version": "1.0.0",
        "changelog": {"1.0.0": f"exported from model {manifest['model']['id']}"},
        **with_torch,
        "numpy_version": numpy.__version__,
        "optional_packages_version": {},
        "required_packages_version": versions,
        "name": f"radcurate {manifest['kind']} {manifest['model']['id']}",
        "task": "chest CT finding triage" + (" (zero-shot, CLIP)" if clip else " (multi-label classification)"),
        "description": "Scores chest CT findings; preprocessing and scoring rule in manifest.json.",
        "authors": "radcurate",
        "copyright": "see LICENSE",
        "references": [],
        "network_data_format": {
            "inputs": {
                "image": {
                    "type": "image",
                    "format": "hounsfield",
                    "modality": "CT",
                    "num_channels": len(pre["windows"]),
                    "spatial_shape": list(pre["shape"]),
                    "dtype": "float32",
                    "value_range": [
                        min(w["out_min"] for w in pre["windows"]),
                        max(w["out_max"] for w in pre["windows"]),
                    ],
                    "is_patch_data": False,
                    "channel_def": {
                        str(i): f"HU window {w['hu_min']:g}..{w['hu_max']:g}" for i, w in enumerate(pre["windows"])
                    },
                }
            },
            "outputs": {
                output: {
                    "type": "embedding" if clip else "probabilities",
                    "format": "L2-normalised" if clip else "multi-label logits",
                    "num_channels": manifest["graphs"]["image"]["output_width"],
                    "spatial_shape": [],
                    "dtype": "float32",
                    "value_range": [-1, 1] if clip else [],
                    "is_patch_data": False,
                    "channel_def": {} if clip else {str(i): f for i, f in enumerate(manifest["vocabulary"])},
                }
            },
        },
    }


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Hash every file under ``folder``, then write ``manifest.json`` with its own self-hash."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest["files"] = {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}
    manifest["manifest_sha256"] = _ZEROS
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    (folder / MANIFEST).write_text(text.replace(_ZEROS, digest, 1), encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def write_bundle(out: Path, manifest: dict[str, Any], populate: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Build a bundle atomically: ``populate(folder)`` writes the models and returns manifest additions.

    Returns the final manifest. ``manifest`` must hold at least ``kind``, ``model``, ``vocabulary``,
    ``preprocessing`` and ``graphs`` (``populate`` may fill ``graphs``).
    """
    out = Path(out).expanduser().resolve()
    if out.exists() and not (out / MANIFEST).is_file():
        raise InputError("exists and is not a radcurate bundle; choose a new folder", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        (work / "configs").mkdir()
        (work / "models").mkdir()
        (work / "docs").mkdir()
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "radcurate_version": __version__,
            "python": platform.python_version(),
            **manifest,
        }
        manifest.update(populate(work))
        (work / "configs" / "metadata.json").write_text(json.dumps(_metadata(manifest), indent=2) + "\n")
        (work / "LICENSE").write_text(LICENSE_TEXT.format(version=__version__))
        pre = manifest["preprocessing"]
        (work / "docs" / "README.md").write_text(
            README_TEXT.format(
                title=f"radcurate bundle {manifest['model']['id']}",
                kind=manifest["kind"],
                n=len(manifest["vocabulary"]),
                shape="×".join(str(n) for n in pre["shape"]),
                spacing="×".join(f"{s:g}" for s in pre["spacing"]),
                channels=len(pre["windows"]),
                windows=", ".join(f"[{w['hu_min']:g}, {w['hu_max']:g}]" for w in pre["windows"]),
                model_id=manifest["model"]["id"],
                snapshot=manifest["model"].get("label_snapshot") or "-",
                created=manifest["created"],
            )
        )
        _write_manifest(work, manifest)
        _fsync_tree(work)
        if out.exists():  # replace an older bundle: move it aside first, so a crash keeps one whole bundle
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(work, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def copy_tokenizer(model_dir: Path, dest: Path) -> list[str]:
    """Copy the tokenizer files of a Hugging Face model directory; ``tokenizer.json`` is required."""
    if not (model_dir / "tokenizer.json").is_file():
        raise InputError("the text model has no tokenizer.json (a fast tokenizer is required)", path=model_dir)
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, dest / name)
            copied.append(name)
    return copied
