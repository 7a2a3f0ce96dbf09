"""Review app benchmark: keystrokes per case, decision → commit latency, prefetched vs cold case switch.

Runs the real app (napari viewer + docks + key bindings) on phantom projects built through the real
pipeline (phantom → import → extract rules) and drives it with real Qt key presses on the canvas:

1. keystrokes per case for a scripted reader who knows what each report says (the phantom's
   ``report_truth.csv``) and corrects the silver labels with the cheapest keys the key map offers
   (a finding's letter or the arrows, the state key, Enter); checked against the store afterwards;
2. decision → committed latency through the app: key press → ``Project.decide`` COMMIT → the
   session's "saved" event (goal: p99 ≤ 20 ms);
3. next-case switch on 512×512×300 DICOM volumes: with the prefetcher vs a cold load (goals:
   ≥ 5× faster, p95 ≤ 150 ms), time from the PageDown key to the new volume on screen.

Usage: ``python benchmarks/review.py`` (re-runs itself under ``xvfb-run -a`` when there is no
display). ``--quick`` for a smaller run; ``--json FILE`` to keep the numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _ensure_display() -> None:
    if os.environ.get("DISPLAY") or os.environ.get("RADCURATE_BENCH_CHILD"):
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
        return
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        sys.exit("needs a display for napari's canvas: install xvfb (xvfb-run) or run on a desktop")
    env = {**os.environ, "RADCURATE_BENCH_CHILD": "1", "QT_QPA_PLATFORM": "xcb"}
    cmd = [xvfb, "-a", "-s", "-screen 0 1920x1200x24", sys.executable, *sys.argv]
    sys.exit(subprocess.call(cmd, env=env))


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _pump(seconds: float = 0.0) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while True:
        QApplication.processEvents()
        if time.perf_counter() >= end:
            return
        time.sleep(0.002)


def _wait(condition: Any, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("benchmark step timed out")
        _pump()


def build_project(folder: Path, cases: int, seed: int, **cohort: Any) -> tuple[Path, Path]:
    """phantom → import → extract rules; returns (project folder, cohort folder)."""
    from radcurate.engine.demo.phantom.cohort import generate_cohort
    from radcurate.engine.project import Project

    generate_cohort(folder / "cohort", cases, seed, **cohort)
    with Project.create(folder / "project", preset="demo") as project:
        project.import_paths([folder / "cohort"])
        project.extract("rules")
    return folder / "project", folder / "cohort"


def make_app(project_dir: Path, reader: str, *, show_volumes: bool) -> Any:
    import napari

    from radcurate.desktop.app import ReviewApp
    from radcurate.engine.project import Project

    project = Project.open(project_dir)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1600, 1000)
    app = ReviewApp(viewer, project, reader, show_volumes=show_volumes, poll_jobs=False)
    app.start()
    _pump(0.2)
    return app


# --------------------------------------------------------------------------- 1. keystrokes
STATE_KEYS = {"present": "P", "absent": "A", "uncertain": "U", "not_mentioned": "N"}


def plan_case(rows: list[Any], selected: int, wrong: dict[str, str], letters: dict[str, str]) -> list[str]:
    """The cheapest keys that fix ``wrong`` ({finding: right state}) and confirm the case."""
    keys: list[str] = []
    names = [r.finding for r in rows]
    position = selected
    for finding in sorted(wrong, key=names.index):
        target = names.index(finding)
        arrows = ["Down" if target > position else "Up"] * abs(target - position)
        jump = [letters[finding]] if finding in letters else arrows
        keys += arrows if len(arrows) <= len(jump) else jump
        keys.append(STATE_KEYS[wrong[finding]])
        position = target
    return keys + ["Enter"]


def bench_keystrokes(project_dir: Path, cohort: Path) -> dict[str, Any]:
    from radcurate.desktop.driver import send_key
    from radcurate.desktop.viewer.keys import finding_keys

    truth = {r["study_id"]: r for r in csv.DictReader((cohort / "report_truth.csv").open(encoding="utf-8"))}
    app = make_app(project_dir, "scripted_reader", show_volumes=False)
    session, project = app.session, app.project
    canvas = app.viewer.window._qt_viewer.canvas.native
    letters = finding_keys(list(project.vocabulary))
    per_errors: dict[int, list[int]] = {}
    mismatches = 0
    while session.study_id is not None and session.entry(session.study_id).status != "done":
        study = session.study_id
        wrong = {
            r.finding: truth[study][r.finding] for r in session.rows if r.silver_state.value != truth[study][r.finding]
        }
        keys = plan_case(session.rows, session.selected, wrong, letters)
        for key in keys:
            send_key(canvas, key)
        gold = {f: s.value for f, s in project.gold(study, reader="scripted_reader").items()}
        mismatches += gold != {f: truth[study][f] for f in project.vocabulary}
        per_errors.setdefault(len(wrong), []).append(len(keys))
        if session.study_id == study:
            break  # the last case
    app.viewer.close()
    summary = {
        f"{n}_errors": {"cases": len(v), "keys_mean": round(float(np.mean(v)), 2), "keys_max": max(v)}
        for n, v in sorted(per_errors.items())
    }
    return {"by_errors": summary, "cases_where_store_differs_from_truth": mismatches}


# --------------------------------------------------------------------------- 2. latency
def bench_latency(project_dir: Path, decisions: int) -> dict[str, Any]:
    from radcurate.desktop.driver import send_key

    app = make_app(project_dir, "latency_reader", show_volumes=False)
    canvas = app.viewer.window._qt_viewer.canvas.native
    saved_at: list[float] = []
    app.session.subscribe(lambda e: saved_at.append(time.perf_counter()) if e.kind == "saved" else None)
    latencies = []
    keys = ["P", "A", "U", "N"]
    for i in range(decisions):
        if i and i % 4 == 0:
            send_key(canvas, "Down")  # next finding (records nothing)
        before = len(saved_at)
        start = time.perf_counter()
        send_key(canvas, keys[i % 4])
        assert len(saved_at) == before + 1, "a key press did not commit a decision"
        latencies.append((saved_at[-1] - start) * 1000)
    direct = []
    study, finding = app.session.study_id, list(app.project.vocabulary)[0]
    for i in range(decisions):
        start = time.perf_counter()
        app.project.decide(study, finding, ["present", "absent"][i % 2], reader="direct")
        direct.append((time.perf_counter() - start) * 1000)
    app.viewer.close()
    return {
        "decisions": decisions,
        "through_app_ms": {"p50": round(_pct(latencies, 50), 2), "p99": round(_pct(latencies, 99), 2)},
        "project_decide_alone_ms": {"p50": round(_pct(direct, 50), 2), "p99": round(_pct(direct, 99), 2)},
        "goal_p99_ms": 20,
    }


# --------------------------------------------------------------------------- 3. case switch
def _switch_times(app: Any, switches: int, *, prefetch: bool) -> list[float]:
    from radcurate.desktop.driver import send_key

    canvas = app.viewer.window._qt_viewer.canvas.native
    ids = [e.study_id for e in app.session.worklist]
    times = []
    for _ in range(switches):
        if app.session.study_id == ids[-1]:
            app.session.open_case(ids[0])  # wrap around (not timed)
            _wait(lambda: app.shown_study == ids[0])
        target = app.session.upcoming_study()
        if prefetch:
            _wait(lambda t=target: app.prefetcher.cached(t))
        else:
            app.prefetcher.clear()
        _pump(0.05)
        start = time.perf_counter()
        send_key(canvas, "PageDown")
        _wait(lambda t=target: app.shown_study == t)
        canvas.repaint()  # the new slice drawn
        times.append((time.perf_counter() - start) * 1000)
    return times


def bench_switch(project_dir: Path, switches: int) -> dict[str, Any]:
    app = make_app(project_dir, "switch_reader", show_volumes=True)
    _wait(lambda: app.shown_study == app.session.study_id)
    shape = app.volume_view.layer.data.shape
    warm = _switch_times(app, switches, prefetch=True)
    real_prefetch = app.prefetcher.prefetch
    app.prefetcher.prefetch = lambda study_id: None  # cold: nothing loads ahead
    cold = _switch_times(app, switches, prefetch=False)
    app.prefetcher.prefetch = real_prefetch
    app.viewer.close()
    return {
        "volume_zyx": list(shape),
        "switches": switches,
        "prefetched_ms": {"p50": round(_pct(warm, 50), 1), "p95": round(_pct(warm, 95), 1)},
        "cold_ms": {"p50": round(_pct(cold, 50), 1), "p95": round(_pct(cold, 95), 1)},
        "speedup_p50": round(_pct(cold, 50) / _pct(warm, 50), 1),
        "goals": {"speedup": ">= 5x", "prefetched_p95_ms": "<= 150"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60, help="phantom cases for keystrokes and latency")
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--big-cases", type=int, default=3, help="512x512x300 cases for the switch benchmark")
    parser.add_argument("--switches", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="20 cases, 100 decisions, 6 switches")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.cases, args.decisions, args.switches = 20, 100, 6
    _ensure_display()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="radcurate-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        project_dir, cohort = build_project(root / "small", args.cases, seed=3)
        print(f"phantom project: {args.cases} cases built in {time.perf_counter() - started:.1f} s", flush=True)
        results["keystrokes"] = bench_keystrokes(project_dir, cohort)
        print("keystrokes per case:", json.dumps(results["keystrokes"]), flush=True)
        results["latency"] = bench_latency(project_dir, args.decisions)
        print("decision -> committed:", json.dumps(results["latency"]), flush=True)
        started = time.perf_counter()
        big_dir, _ = build_project(
            root / "big",
            args.big_cases,
            seed=5,
            shape=(512, 512, 300),
            spacing=(0.7, 0.7, 1.0),
            dicom_fraction=1.0,
            compressed_fraction=0.0,
        )
        print(f"big project: {args.big_cases} DICOM cases of 512x512x300 in {time.perf_counter() - started:.0f} s")
        results["switch"] = bench_switch(big_dir, args.switches)
        print("next-case switch:", json.dumps(results["switch"]), flush=True)
    _report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def _report(r: dict[str, Any]) -> None:
    k, lat, sw = r["keystrokes"]["by_errors"], r["latency"], r["switch"]
    print("\n=== radcurate review benchmark ===")
    for name, row in k.items():
        print(
            f"keystrokes/case, {name.replace('_', ' '):>9}: {row['keys_mean']:5.2f} (max {row['keys_max']}, "
            f"{row['cases']} cases)"
        )
    print(f"store == truth after review: {r['keystrokes']['cases_where_store_differs_from_truth'] == 0}")
    t = lat["through_app_ms"]
    d = lat["project_decide_alone_ms"]
    print(
        f"decision -> committed through the app: p50 {t['p50']} ms, p99 {t['p99']} ms (goal p99 <= 20 ms); "
        f"Project.decide alone p50 {d['p50']} ms, p99 {d['p99']} ms"
    )
    w, c = sw["prefetched_ms"], sw["cold_ms"]
    print(
        f"next case {'x'.join(map(str, sw['volume_zyx']))}: prefetched p50 {w['p50']} ms / p95 {w['p95']} ms, "
        f"cold p50 {c['p50']} ms / p95 {c['p95']} ms -> {sw['speedup_p50']}x (goals >= 5x, p95 <= 150 ms)"
    )


if __name__ == "__main__":
    main()
