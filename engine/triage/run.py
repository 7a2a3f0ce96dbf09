"""``radcurate triage``: score CT volumes with a bundle, torch-free, and write CSV or JSON.

One volume at a time: read (loader plugins) → numpy preprocessing from the manifest's recipe →
one image-graph run → scores. The next volume is read and preprocessed on a worker thread while
the current one runs through onnxruntime (both release the GIL for their heavy loops), so a batch
costs about max(read, inference) per volume rather than the sum. A volume that fails to load or
preprocess is reported (``failures``) and skipped; the rest go on.

Output shapes: CSV with columns ``path``, one per finding (vocabulary order), one per question
(as typed); JSON a list of ``{"path": ..., "scores": {name: probability}}``. Both written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.engine.files import atomic
from radcurate.engine.triage import inputs
from radcurate.engine.triage.bundle import Bundle, open_bundle
from radcurate.engine.triage.scoring import Scorer
from radcurate.engine.volumes.numpy_preprocessing import preprocess_volume

Progress = Callable[[int, int, str], None]  # (done, total, current label)


@dataclass
class TriageResult:
    """Scores per scored volume, the columns they are in, what failed, and where the time went (s)."""

    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[inputs.Failure] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "preprocess": 0.0, "inference": 0.0})
    model: str = ""

    def as_json(self) -> list[dict[str, Any]]:
        return [{"path": row["path"], "scores": row["scores"]} for row in self.rows]


def _prepare(label: str, volume: Any, failure: inputs.Failure | None, bundle: Bundle) -> tuple[Any, ...]:
    if failure is not None:
        return label, None, failure, 0.0
    start = time.perf_counter()
    try:
        array = preprocess_volume(volume, bundle.recipe)[None]
    except InputError as exc:
        return label, None, inputs.Failure(label, str(exc)), 0.0
    except (ValueError, MemoryError, np.linalg.LinAlgError) as exc:
        return label, None, inputs.Failure(label, f"cannot preprocess: {type(exc).__name__}: {exc}"), 0.0
    return label, array, None, time.perf_counter() - start


def triage(
    bundle: Bundle | str | Path,
    paths: Sequence[str | Path],
    *,
    queries: Sequence[str] = (),
    shard: inputs.Shard | None = None,
    threads: int = 0,
    progress: Progress | None = None,
) -> TriageResult:
    """Score every volume under ``paths`` (this shard's part) with ``bundle``; see the module docstring."""
    if not isinstance(bundle, Bundle):
        bundle = open_bundle(bundle, threads=threads)
    scorer = Scorer(bundle, queries)
    result = TriageResult(columns=scorer.columns, model=bundle.model_id)
    found, missing = inputs.units(paths)
    result.failures.extend(missing)
    mine = (shard or inputs.Shard()).pick(found)
    plugins = inputs.loaders()
    total = len(mine)

    def read_unit(unit: tuple[Path, ...]) -> list[tuple[Any, ...]]:
        start = time.perf_counter()
        loaded = list(inputs.volumes(unit, plugins))
        read = time.perf_counter() - start
        prepared = [_prepare(label, volume, failure, bundle) for label, volume, failure in loaded]
        return [(*item, read / max(len(prepared), 1)) for item in prepared]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-read") as pool:
        pending: Future[list[tuple[Any, ...]]] | None = pool.submit(read_unit, mine[0]) if mine else None
        for n in range(total):
            assert pending is not None
            batch = pending.result()
            pending = pool.submit(read_unit, mine[n + 1]) if n + 1 < total else None
            for label, array, failure, prep_s, read_s in batch:
                result.timings["read"] += read_s
                result.timings["preprocess"] += prep_s
                if failure is not None:
                    result.failures.append(failure)
                    continue
                start = time.perf_counter()
                scores = scorer.score(array)[0]
                result.timings["inference"] += time.perf_counter() - start
                result.rows.append(
                    {"path": label, "scores": {c: float(s) for c, s in zip(result.columns, scores, strict=True)}}
                )
            if progress is not None:
                progress(n + 1, total, str(mine[n][0]))
    return result


def render_csv(result: TriageResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", *result.columns])
    for row in result.rows:
        writer.writerow([row["path"], *(f"{row['scores'][c]:.6f}" for c in result.columns)])
    return buffer.getvalue()


def write_output(result: TriageResult, out: Path) -> None:
    """``.csv`` or ``.json`` by suffix, atomically."""
    suffix = out.suffix.lower()
    if suffix == ".csv":
        atomic.write_text(out, render_csv(result))
    elif suffix == ".json":
        atomic.write_text(out, json.dumps(result.as_json(), indent=2) + "\n")
    else:
        raise InputError("--out must end in .csv or .json", path=out, field="out")


def score_volume(bundle: Bundle | str | Path, volume: Any, queries: Sequence[str] = ()) -> dict[str, float]:
    """``{finding or question: probability}`` for one loaded volume (the desktop's Triage dock)."""
    if not isinstance(bundle, Bundle):
        bundle = open_bundle(bundle)
    scorer = Scorer(bundle, queries)
    scores = scorer.score(preprocess_volume(volume, bundle.recipe)[None])[0]
    return {column: float(s) for column, s in zip(scorer.columns, scores, strict=True)}
