"""PACS benchmark: importing phantom studies from a real Orthanc (DICOMweb, DIMSE C-GET, C-MOVE) vs from a folder.

Run: ``python benchmarks/pacs.py [--studies 20] [--repeats 3]`` (needs the Debian packages ``orthanc``
and ``orthanc-dicomweb``; ``scripts/system-deps.sh`` installs them). It writes a phantom cohort of
``--studies`` DICOM studies, starts Orthanc on loopback with a temporary storage folder, uploads the
cohort, then times into a fresh project each time:

* ``folder``: ``Project.import_paths`` on the cohort's volumes (the baseline);
* ``dicomweb``: ``Project.import_from_pacs`` through QIDO-RS + WADO-RS (fetch into cache/pacs, then
  the same import);
* ``dimse get`` / ``dimse move``: the same through C-FIND + C-GET / C-MOVE;
* ``rerun``: the DICOMweb import again into the same project (nothing fetched, every series
  unchanged) against a folder re-import.

Prints medians side by side with the ratio to the folder import and the load average (the machine
is shared); it never fails on timing. The volumes of every PACS import are checked to equal the
folder import's (checksums), so a fast wrong import cannot pass.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the Orthanc launcher lives with the tests (tests/plugins/pacs/)

from radcurate.engine.demo.phantom.cohort import generate_cohort  # noqa: E402
from radcurate.engine.project import Project  # noqa: E402
from tests.plugins.pacs.orthanc_server import CLIENT_AET, PASSWORD, USER, OrthancServer, orthanc_binary  # noqa: E402


def checksums(project: Project) -> set[tuple[str, str]]:
    return {(sid, s.checksum) for sid in project.study_ids() for s in project.series(sid)}


def with_pacs_settings(project: Project, server: OrthancServer, retrieve: str = "get") -> Project:
    pacs = dataclasses.replace(
        project.settings.pacs, calling_aet=CLIENT_AET, move_port=server.move_port, retrieve=retrieve
    )
    project.settings = dataclasses.replace(project.settings, pacs=pacs)
    return project


def timed(make: Callable[[Path], set], work: Path, repeats: int, label: str) -> tuple[float, set]:
    """Median seconds of ``make(fresh project folder)`` over ``repeats`` runs, and what it imported."""
    seconds, result = [], set()
    for i in range(repeats):
        folder = work / f"{label.replace(' ', '-')}-{i}"
        start = time.perf_counter()
        result = make(folder)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if orthanc_binary() is None:
        sys.exit("Orthanc is not installed (Debian: orthanc orthanc-dicomweb; see scripts/system-deps.sh)")
    os.environ["RADCURATE_PACS_USER"], os.environ["RADCURATE_PACS_PASSWORD"] = USER, PASSWORD
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cohort = generate_cohort(work / "cohort", args.studies, seed=3, dicom_fraction=1.0)
        volumes = work / "cohort" / "volumes"
        files = sorted(p for p in volumes.rglob("*") if p.is_file())
        size_mb = sum(p.stat().st_size for p in files) / 1e6
        with OrthancServer(work / "orthanc") as server:
            server.upload(files)
            print(
                f"{cohort.cases} phantom studies, {len(files)} instances, {size_mb:.1f} MB "
                "(64x56x40 voxels each, half RLE or JPEG 2000); Orthanc on loopback; "
                f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
            )

            def folder_import(path: Path) -> set:
                with Project.create(path, preset="demo") as project:
                    project.import_paths([volumes])
                    return checksums(project)

            def pacs_import(url: str, retrieve: str = "get") -> Callable[[Path], set]:
                def run(path: Path) -> set:
                    with with_pacs_settings(Project.create(path, preset="demo"), server, retrieve) as project:
                        summary = project.import_from_pacs(url, query="ModalitiesInStudy=CT")
                        if summary.failed or summary.fetched != args.studies:
                            print(f"  note: {summary.line()}")
                        return checksums(project)

                return run

            base, expected = timed(folder_import, work, args.repeats, "folder")
            rows = [("folder (baseline)", base)]
            for label, make in (
                ("dicomweb (QIDO-RS + WADO-RS)", pacs_import(server.dicomweb_url)),
                ("dimse get (C-FIND + C-GET)", pacs_import(server.dimse_url, "get")),
                ("dimse move (C-FIND + C-MOVE)", pacs_import(server.dimse_url, "move")),
            ):
                seconds, got = timed(make, work, args.repeats, label)
                assert got <= expected, f"{label}: volumes differ from the folder import"
                rows.append((label + ("" if got == expected else f" [{len(got)} of {len(expected)}]"), seconds))

            rerun_folder, rerun_pacs = [], []
            with Project.create(work / "rerun-folder", preset="demo") as project:
                project.import_paths([volumes])
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    project.import_paths([volumes])
                    rerun_folder.append(time.perf_counter() - start)
            with with_pacs_settings(Project.create(work / "rerun-pacs", preset="demo"), server) as project:
                project.import_from_pacs(server.dicomweb_url, query="ModalitiesInStudy=CT")
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    summary = project.import_from_pacs(server.dicomweb_url, query="ModalitiesInStudy=CT")
                    rerun_pacs.append(time.perf_counter() - start)
                    assert summary.fetched == 0 and summary.reused == args.studies
        print(
            f"{'import of ' + str(args.studies) + ' studies':<34} {'median s':>9} {'studies/s':>10} {'vs folder':>10}"
        )
        for label, seconds in rows:
            print(f"{label:<34} {seconds:9.2f} {args.studies / seconds:10.1f} {seconds / base:9.2f}x")
        folder_again, pacs_again = statistics.median(rerun_folder), statistics.median(rerun_pacs)
        print(f"{'rerun, folder (all unchanged)':<34} {folder_again:9.2f} {'':>10} {'1.00x':>10}")
        print(f"{'rerun, dicomweb (nothing fetched)':<34} {pacs_again:9.2f} {'':>10} {pacs_again / folder_again:9.2f}x")
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
