"""Triage benchmark: onnxruntime vs torch eager, int8, and end-to-end seconds from DICOM to 18 scores.

Prints, in one run (issue "Ship"):

1. **fp32 latency**, the CPU-preset supervised model (MONAI resnet18, widen 0.5, conv1 3/2, two HU
   windows, 18 findings) on the same input, torch eager vs onnxruntime (``ORT_ENABLE_ALL``), both
   with ``--threads`` intra-op threads, at 64×64×32 and 96×96×48, with the max |Δ| of the logits;
2. **int8**: onnxruntime static QDQ (per-channel weights), its latency ratio to fp32 and the largest
   probability change. With ``--project DIR --model ID`` it also prints the macro AUC of fp32 and
   int8 on that project's test split (the number ``export-onnx --int8`` decides by);
3. **end to end**: a 512×512×300 DICOM series on disk → 18 zero-shot scores from a CLIP bundle (real
   all-MiniLM-L6-v2 text tower, demo preset) in a *new process* with torch made unimportable, split
   into imports, bundle (verify every sha256 + session), read, preprocess and inference; warm (files
   in the page cache) and cold (series, bundle and the imported packages evicted with
   ``posix_fadvise(DONTNEED)``, which needs no root).

Run: ``.venv/bin/python benchmarks/triage.py`` (``--quick`` for fewer repeats). Not a test: nothing
here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DRIVER = r"""
import importlib.abc, json, sys, time
t0 = time.perf_counter()
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "monai"):
            raise ImportError(name + " blocked")
sys.meta_path.insert(0, Block())
from radcurate.engine.triage import inputs
from radcurate.engine.triage.bundle import open_bundle
from radcurate.engine.triage.scoring import Scorer
from radcurate.engine.volumes.numpy_preprocessing import preprocess_volume
t1 = time.perf_counter()
bundle = open_bundle(sys.argv[1], threads=int(sys.argv[3]))
scorer = Scorer(bundle)
bundle.session("image")
t2 = time.perf_counter()
units, _ = inputs.units([sys.argv[2]])
label, volume, failure = next(inputs.volumes(units[0], inputs.loaders()))
t3 = time.perf_counter()
x = preprocess_volume(volume, bundle.recipe)[None]
t4 = time.perf_counter()
scores = scorer.score(x)
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "bundle": t2 - t1, "read": t3 - t2, "preprocess": t4 - t3,
                  "inference": t5 - t4, "scores": int(scores.shape[1]), "shape": list(volume.shape)}))
"""


def _median_ms(run, repeats: int) -> float:
    run()  # warm-up (allocations, lazy init)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _network(channels: int, findings: int):
    import torch
    from monai.networks.nets import resnet18

    torch.manual_seed(0)
    return resnet18(
        spatial_dims=3,
        n_input_channels=channels,
        num_classes=findings,
        widen_factor=0.5,
        conv1_t_size=3,
        conv1_t_stride=2,
    ).eval()


def latency(shape: tuple[int, int, int], threads: int, repeats: int, work: Path) -> dict[str, float]:
    import onnxruntime as ort
    import torch

    from radcurate.engine.export.onnx_export import ModelInfo, export_supervised
    from radcurate.engine.settings import TWO_WINDOWS, PreprocessingSettings
    from radcurate.engine.triage.bundle import session_options
    from radcurate.engine.vocabulary import CT_RATE_FINDINGS
    from radcurate.engine.volumes.numpy_preprocessing import recipe_from_settings

    torch.set_num_threads(threads)
    network = _network(2, len(CT_RATE_FINDINGS))
    recipe = recipe_from_settings(PreprocessingSettings(spacing=(5.0, 5.0, 8.0), windows=TWO_WINDOWS, shape=shape))
    out = work / f"sup-{'x'.join(map(str, shape))}"
    export_supervised(network, out, info=ModelInfo("bench", "supervised"), findings=CT_RATE_FINDINGS, recipe=recipe)
    graph = out / "models" / "classifier.onnx"
    session = ort.InferenceSession(str(graph), session_options(threads), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, size=(1, 2, *shape)).astype(np.float32)
    with torch.no_grad():
        expected = network(torch.from_numpy(x)).numpy()
        torch_ms = _median_ms(lambda: network(torch.from_numpy(x)), repeats)
    got = session.run(None, {"image": x})[0]
    ort_ms = _median_ms(lambda: session.run(None, {"image": x}), repeats)
    return {"torch_ms": torch_ms, "ort_ms": ort_ms, "diff": float(np.abs(got - expected).max()), "graph": str(graph)}


def int8(graph: Path, shape: tuple[int, int, int], threads: int, repeats: int) -> dict[str, float]:
    import onnxruntime as ort

    from radcurate.engine.demo.phantom.cases import plan_case, render_case
    from radcurate.engine.export.onnx_export import _quantize
    from radcurate.engine.settings import TWO_WINDOWS, PreprocessingSettings
    from radcurate.engine.triage.bundle import session_options
    from radcurate.engine.volumes.numpy_preprocessing import preprocess_array, recipe_from_settings

    recipe = recipe_from_settings(PreprocessingSettings(spacing=(5.0, 5.0, 8.0), windows=TWO_WINDOWS, shape=shape))
    inputs = []
    for i in range(8):  # phantom volumes as calibration and comparison inputs (real intensities, not noise)
        spec = plan_case(21, i, shape=(96, 96, 48), spacing=(3.6, 3.6, 6.0))
        inputs.append(preprocess_array(render_case(spec), spec.affine, recipe))
    batch = np.stack(inputs).astype(np.float32)
    quantized = graph.with_name("classifier.int8.onnx")
    _quantize(graph, quantized, batch, "image")
    fp32 = ort.InferenceSession(str(graph), session_options(threads), providers=["CPUExecutionProvider"])
    q8 = ort.InferenceSession(str(quantized), session_options(threads), providers=["CPUExecutionProvider"])
    x = batch[:1]
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    change = max(
        float(
            np.abs(
                sigmoid(fp32.run(None, {"image": batch[i : i + 1]})[0])
                - sigmoid(q8.run(None, {"image": batch[i : i + 1]})[0])
            ).max()
        )
        for i in range(len(batch))
    )
    return {
        "fp32_ms": _median_ms(lambda: fp32.run(None, {"image": x}), repeats),
        "int8_ms": _median_ms(lambda: q8.run(None, {"image": x}), repeats),
        "max_probability_change": change,
    }


def project_auc(directory: Path, model: str) -> str:
    """fp32 vs int8 macro AUC on a project's test split, as export-onnx --int8 measures it."""
    from radcurate.engine.cli.ship_commands import export_registered

    out = Path(tempfile.mkdtemp(prefix="radcurate-bench-int8-")) / "bundle"
    manifest = export_registered(directory, model, out, int8=True)
    q = manifest["int8"]
    return (
        f"macro AUC fp32 {q['fp32_macro_auc']:.4f} → int8 {q['int8_macro_auc']:.4f} "
        f"(Δ {q['int8_macro_auc'] - q['fp32_macro_auc']:+.4f}; {'kept' if q['kept'] else 'dropped'}; "
        f"{q['cases']} test cases)"
    )


def clip_bundle(work: Path) -> Path:
    import torch

    from radcurate.engine.export.onnx_export import ModelInfo, export_clip
    from radcurate.engine.settings import PRESETS
    from radcurate.engine.training.clip_model import ClipModel, resnet18_encoder
    from radcurate.engine.training.prompts import DEFAULT_TEMPLATES
    from radcurate.engine.training.text_encoder import TextEncoder
    from radcurate.engine.vocabulary import CT_RATE_FINDINGS
    from radcurate.engine.volumes.numpy_preprocessing import recipe_from_settings

    torch.manual_seed(0)
    settings = PRESETS["demo"].preprocessing
    recipe = recipe_from_settings(settings)
    encoder, width = resnet18_encoder(recipe.channels, widen_factor=0.5, conv1_t_size=3, conv1_t_stride=2)
    text = TextEncoder()  # the packaged all-MiniLM-L6-v2
    model = ClipModel(encoder, width, text, len(CT_RATE_FINDINGS)).eval()
    out = work / "clip-bundle"
    export_clip(
        model,
        out,
        info=ModelInfo("bench-clip", "clip"),
        findings=CT_RATE_FINDINGS,
        templates=[(t.positive, t.negative) for t in DEFAULT_TEMPLATES],
        recipe=recipe,
        text_model_dir=text.model_dir,
    )
    return out


def big_series(work: Path) -> Path:
    """A 512×512×300 DICOM series (0.7×0.7×1 mm): a phantom rendered at 128×128×75, upsampled ×4."""
    import dataclasses

    from radcurate.engine.demo.phantom.cases import plan_case, render_case
    from radcurate.engine.demo.phantom.writers import write_dicom_series

    small = plan_case(9, 0, shape=(128, 128, 75), spacing=(2.8, 2.8, 4.0))
    hu = render_case(small).repeat(4, 0).repeat(4, 1).repeat(4, 2)
    spec = dataclasses.replace(small, shape=(512, 512, 300), spacing=(0.7, 0.7, 1.0), volume_format="dicom")
    folder = work / "series-512x512x300"
    write_dicom_series(hu, spec, folder)
    return folder


def _evict(paths: list[Path]) -> None:
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def end_to_end(bundle: Path, series: Path, threads: int, cold: bool) -> dict[str, float]:
    if cold:
        import importlib.util

        packages = [REPO / "engine", REPO / "plugins"]
        for name in (
            "onnxruntime",
            "numpy",
            "scipy",
            "pydicom",
            "nibabel",
            "tokenizers",
            "rich",
            "pylibjpeg",
            "highdicom",
        ):
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin:
                packages.append(Path(spec.origin).parent)
        _evict([series, bundle, *packages])
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(bundle), str(series), str(threads)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    total = time.perf_counter() - start
    parts = json.loads(done.stdout.strip().splitlines()[-1])
    parts["total"] = total
    parts["interpreter"] = total - sum(parts[k] for k in ("imports", "bundle", "read", "preprocess", "inference"))
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--project", type=Path, help="a project with a trained model, for the int8 AUC")
    parser.add_argument("--model", help="model id or version in --project")
    parser.add_argument(
        "--bundle", type=Path, help="an exported CLIP bundle for the end-to-end run (else one is built)"
    )
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    work = Path(tempfile.mkdtemp(prefix="radcurate-bench-triage-"))

    print(f"== fp32: onnxruntime (ORT_ENABLE_ALL) vs torch eager, {args.threads} threads, batch 1, median of {repeats}")
    graphs = {}
    for shape in ((64, 64, 32), (96, 96, 48)):
        r = latency(shape, args.threads, repeats, work)
        graphs[shape] = Path(r["graph"])
        print(
            f"  {'x'.join(map(str, shape)):>9}: torch {r['torch_ms']:7.1f} ms | onnxruntime {r['ort_ms']:7.1f} ms"
            f" | {r['torch_ms'] / r['ort_ms']:.2f}x | max |Δ logits| {r['diff']:.1e}"
        )

    print("== int8 (static QDQ, per-channel weights) vs fp32 onnxruntime, 64x64x32")
    q = int8(graphs[(64, 64, 32)], (64, 64, 32), args.threads, repeats)
    print(
        f"  fp32 {q['fp32_ms']:.1f} ms | int8 {q['int8_ms']:.1f} ms | {q['fp32_ms'] / q['int8_ms']:.2f}x"
        f" | max probability change {q['max_probability_change']:.3f} (8 phantom volumes)"
    )
    if args.project and args.model:
        print(f"  {project_auc(args.project, args.model)}")
    else:
        print("  AUC change: pass --project DIR --model ID (export-onnx --int8 keeps int8 only if it drops <= 0.005)")

    print("== end to end: 512x512x300 DICOM series → 18 scores, new process, torch blocked (CLIP, demo preset)")
    bundle = args.bundle or clip_bundle(work)
    series = big_series(work)
    end_to_end(bundle, series, args.threads, cold=False)  # fill the page cache
    for label, cold in (("warm", False), ("cold", True)):
        p = end_to_end(bundle, series, args.threads, cold)
        print(
            f"  {label}: {p['total']:.2f} s = interpreter {p['interpreter']:.2f} + imports {p['imports']:.2f}"
            f" + bundle (sha256 + session) {p['bundle']:.2f} + read {p['read']:.2f}"
            f" + preprocess {p['preprocess']:.2f} + inference {p['inference']:.2f}  ({p['scores']} scores)"
        )
    print(f"(work files in {work})")


if __name__ == "__main__":
    main()
