"""torch → ONNX for the bundle: the image encoder, the text encoder, and their parity with torch.

Exported with the torch dynamo exporter (``torch.onnx.export(..., dynamo=True)``; needs ``onnx``
and ``onnxscript``, the ``[train]`` extra). Only the batch axis is dynamic: a 3D ResNet's pooled
shape depends on the input size, so each preset shape is its own graph, and the text graph takes a
fixed number of word pieces (``max_tokens``, padding masked) so queries of any length share one
graph. Large weights may land in ``<name>.onnx.data`` side files; the bundle hashes those too.

Parity is measured here, not assumed: :func:`max_abs_diff` runs the written graph in onnxruntime
and torch on the same inputs, and the exporter refuses a graph that differs by more than
:data:`PARITY_TOLERANCE`.

torch is imported inside the functions (the CLI imports this module lazily).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError

OPSET = 18
PARITY_TOLERANCE = 1e-4
MAX_BATCH = 1024


def _torch() -> Any:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
        import torch
    except ImportError as exc:
        raise InputError(
            f"export-onnx needs the [train] extra (torch, onnx, onnxscript): pip install 'radcurate[train]' ({exc})",
            field="export",
        ) from None
    return torch


def _wrap(forward: Callable[..., Any], inputs: int) -> Any:
    """An ``nn.Module`` whose ``forward`` is ``forward`` with 1 or 2 named tensor inputs (what the exporter traces)."""
    torch = _torch()

    base: Any = torch.nn.Module

    class Graph(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            owner = getattr(forward, "__self__", None)
            if isinstance(owner, torch.nn.Module):
                self.owner = owner  # registers the parameters of a bound method's module

    class One(Graph):
        def forward(self, x: Any) -> Any:
            return forward(x)

    class Two(Graph):
        def forward(self, a: Any, b: Any) -> Any:
            return forward(a, b)

    if inputs not in (1, 2):
        raise ValueError("graphs take one or two inputs")
    return (One if inputs == 1 else Two)().eval()


def export_graph(
    forward: Callable[..., Any],
    examples: Sequence[Any],
    path: Path,
    input_names: Sequence[str],
    output_name: str,
    opset: int = OPSET,
    optimize: bool = True,
) -> list[Path]:
    """Write ``forward(*examples)`` as an ONNX graph at ``path``, batch axis dynamic; returns the files written."""
    torch = _torch()
    from torch.export import Dim

    batch = Dim("batch", min=1, max=MAX_BATCH)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = _wrap(forward, len(examples))
    before = set(path.parent.iterdir())
    # The exporter narrates every pass on stdout and warns about optional torchvision ops: keep the CLI quiet.
    quiet = io.StringIO()
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(quiet):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                tuple(examples),
                str(path),
                dynamo=True,
                opset_version=opset,
                input_names=list(input_names),
                output_names=[output_name],
                dynamic_shapes=tuple({0: batch} for _ in examples),
                verbose=False,
                optimize=optimize,
            )
    except Exception as exc:  # the exporter's own errors are long; one line names the graph
        raise InputError(f"ONNX export failed: {type(exc).__name__}: {str(exc).splitlines()[0]}", path=path) from None
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
    return sorted(set(path.parent.iterdir()) - before)


def ort_session(path: Path, threads: int = 0) -> Any:
    """An onnxruntime CPU session with full graph optimisation (what triage uses too)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def max_abs_diff(forward: Callable[..., Any], path: Path, inputs: dict[str, np.ndarray]) -> float:
    """Largest |torch − onnxruntime| over the outputs of ``forward`` and the graph at ``path``."""
    torch = _torch()
    with torch.no_grad():
        expected = forward(*(torch.from_numpy(v) for v in inputs.values())).detach().cpu().numpy()
    got = ort_session(path).run(None, inputs)[0]
    return float(np.abs(np.asarray(got, dtype=np.float64) - expected).max())


def check_parity(name: str, difference: float, tolerance: float = PARITY_TOLERANCE) -> None:
    if not difference <= tolerance:
        raise InputError(
            f"the {name} graph differs from torch by {difference:.2e} (> {tolerance:g}); not exported", field="parity"
        )


def torch_prompt_embeddings(
    encode_text: Callable[..., Any], tokenize: Callable[[list[str]], tuple[np.ndarray, np.ndarray]], texts: list[str]
) -> np.ndarray:
    """``encode_text`` of ``texts`` in torch, tokenized the way triage tokenizes (fixed length)."""
    torch = _torch()
    ids, mask = tokenize(texts)
    with torch.no_grad():
        out = encode_text(torch.from_numpy(ids), torch.from_numpy(mask))
    return np.ascontiguousarray(out.detach().cpu().numpy(), dtype=np.float32)
