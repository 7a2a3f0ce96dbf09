"""Ingest benchmark: DICOM decode vs bare pydicom, and the preprocessing cache hit vs miss.

Run: ``python benchmarks/ingest.py [--repeats 5]``. Prints medians side by side with the ratio and
the goal; it never fails on timing (goals are for people, not CI).

* decode: ``DicomSeriesLoader.load`` (read every file once, sort along the slice normal, check
  spacing, decode, modality LUT to HU, LPS reorientation, content checksum) against reading the
  same files with bare ``pydicom.dcmread(f).pixel_array`` — goal ≤ 1.5×. Run on the real JPEG 2000
  series (../shared/data) and on a phantom DICOM series.
* cache: ``Project.preprocessed`` on a miss (load the DICOM, MONAI Spacing/scale/pad, atomic
  .npy write) against a hit (read the .npy, centre crop) — goal ≥ 10×. Paper preset.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pydicom

from radcurate.engine.ingest import imports as ingest
from radcurate.engine.ingest.walk import walk
from radcurate.engine.project import Project

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
J2K = SHARED / "dicom-ct-series-j2k-totalsegmentator"


def paired_medians(ours: Callable[[], object], base: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of each, timed alternately (the order flips every round) after one warm-up each.

    Alternating keeps a busy machine's slow spells from landing on one side only.
    """
    ours(), base()  # warm-up: imports, OS file cache, decoder plugins
    times: dict[int, list[float]] = {0: [], 1: []}
    for round_ in range(repeats):
        pair = [(0, ours), (1, base)]
        for side, fn in pair if round_ % 2 == 0 else pair[::-1]:
            start = time.perf_counter()
            fn()
            times[side].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def row(what: str, ours: float, base: float, ours_name: str, base_name: str, goal: str) -> None:
    print(
        f"{what:<62} {ours_name:<7}{ours * 1000:9.1f} ms   {base_name:<13}{base * 1000:9.1f} ms   "
        f"ratio {ours / base:7.2f}x   goal {goal}"
    )


def bench_decode(folder: Path, label: str, repeats: int) -> None:
    loader = ingest.loader_named("dicom")
    files = [p for p in walk([folder]) if pydicom.misc.is_dicom(p)]
    found = loader.discover(files)
    if len(found.sources) != 1:
        print(f"{label:<62} skipped: expected one series, found {len(found.sources)} ({found.rejected[:1]})")
        return
    source = found.sources[0]

    def bare() -> None:
        for f in source.files:
            pydicom.dcmread(f).pixel_array  # noqa: B018 - decoding is the point

    ours, base = paired_medians(lambda: loader.load(source), bare, repeats)
    row(f"{label} ({len(source.files)} slices)", ours, base, "loader", "bare pydicom", "<= 1.5x")


def bench_cache(folder: Path, label: str, repeats: int, preset: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, Project.create(Path(tmp) / "p", preset=preset) as project:
        project.import_paths([folder])
        series_id = project.series(project.study_ids()[0])[0].id
        cache = project.path / "cache"

        def miss() -> None:
            for entry in cache.glob("*.npy"):
                entry.unlink()
            project.preprocessed(series_id)

        def hit() -> None:
            project.preprocessed(series_id)

        miss_t, hit_t = paired_medians(miss, hit, repeats)
        hit()
        shape = project.preprocessed(series_id).shape
    row(f"{label} ({preset} preset, {shape})", miss_t, hit_t, "miss", "hit", ">= 10x (miss/hit)")


def phantom_series(out: Path) -> list[tuple[str, Path]]:
    """Two chest-sized phantom DICOM series (256×256×96, 1.5×1.5×3 mm): one RLE, one uncompressed."""
    try:
        from radcurate.engine.demo.phantom.cohort import generate_cohort
    except ImportError:
        return []
    generate_cohort(
        out, cases=2, seed=1, dicom_fraction=1.0, compressed_fraction=0.5, shape=(256, 256, 96), spacing=(1.5, 1.5, 3.0)
    )
    found = []
    for folder in sorted(p for p in (out / "volumes").iterdir() if p.is_dir()):
        syntax = pydicom.dcmread(next(folder.iterdir()), stop_before_pixels=True).file_meta.TransferSyntaxUID
        found.append((f"phantom CT, {'RLE' if syntax.is_compressed else 'uncompressed'}", folder))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median reported)")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, pydicom {pydicom.__version__}, medians of {args.repeats} runs\n")
    with tempfile.TemporaryDirectory() as tmp:
        phantoms = phantom_series(Path(tmp) / "phantom")
        real = [("real CT, JPEG 2000", J2K)] if J2K.is_dir() else []
        if not real:
            print(f"real J2K CT: skipped, {J2K} not found")
        if not phantoms:
            print("phantom CT: skipped, no phantom generator (engine/demo/phantom/cohort.py)")
        for label, folder in real + phantoms:
            bench_decode(folder, f"decode {label}", args.repeats)
        for label, folder in real + phantoms[:1]:
            bench_cache(folder, f"preprocess {label}", args.repeats, "paper")
    return 0


if __name__ == "__main__":
    sys.exit(main())
