"""Screenshots of the review app for the docs: ``python -m tools.screenshots PROJECT OUT``.

Opens the real app on a project, plays a few keys (a decision, a confirmed case, a finding with
its window), and saves the whole window (``review.png``: canvas with study, letters and slice,
the linked views under the worklist, a crosshair placed by a click), each dock (``worklist.png``, ``findings.png``,
``report.png`` with the series picker, ``triage.png``, ``jobs.png``, ``views.png``), a ruler and
an ROI (``measure.png``), the canvas while a case loads (``loading.png``), the coronal and
sagittal views and the key help; with ``--reconstructions`` the series picker on a study with
three series (``series.png``, ``series-picker.png``). ``--study`` opens that study after the keys (e.g. a real DICOM
series). Needs a display (``xvfb-run -a`` works); decisions are written under the reader
``screenshots``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# confirm the first case (opens the second), call its atelectasis present, then select cardiomegaly
KEYS_BEFORE = ("Enter", "T", "P", "C")


def _pump(seconds: float) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def take(
    project_dir: Path,
    out: Path,
    *,
    finding: str = "Cardiomegaly",
    size: tuple[int, int] = (1600, 1000),
    study: str | None = None,
    series_study: str | None = None,
) -> list[Path]:
    """Save the screenshots; returns their paths (``series_study``: a study with several series)."""
    import napari

    from radcurate.desktop.app import ReviewApp
    from radcurate.desktop.driver import send_key
    from radcurate.engine.project import Project

    out.mkdir(parents=True, exist_ok=True)
    project = Project.open(project_dir)
    viewer = napari.Viewer(title=f"radcurate review — {project.path.name} — screenshots")
    window = viewer.window._qt_window
    window.resize(*size)
    app = ReviewApp(viewer, project, "screenshots", poll_jobs=False)
    app.start()
    app.jobs.poll()
    canvas = viewer.window._qt_viewer.canvas.native
    _pump(2.0)
    for key in KEYS_BEFORE:
        _wait_shown(app, app.session.study_id)  # a decision key waits for the case's image (it is refused before)
        send_key(canvas, key)
        _pump(0.5)
    _pump(1.5)
    _click_crosshair(app, canvas)
    saved = []
    viewer.screenshot(str(out / "review.png"), canvas_only=False, flash=False)  # a phantom case
    app.linked.grab().save(str(out / "views.png"))  # its linked views (a 20-slice series is a thin strip)
    saved += [out / "review.png", out / "views.png"]
    if study is not None:
        app.session.open_case(study)
        _wait_shown(app, study)
        send_key(canvas, "1")
        _pump(0.8)

    def shot(name: str, widget: object = None) -> None:
        path = out / name
        if widget is None:
            viewer.screenshot(str(path), canvas_only=False, flash=False)
        else:
            widget.grab().save(str(path))  # type: ignore[attr-defined]
        saved.append(path)

    shot("review-real.png")
    _measure(app)
    _pump(0.8)
    viewer.screenshot(str(out / "measure.png"), canvas_only=True, flash=False)
    saved.append(out / "measure.png")
    docks = {
        "worklist.png": app.worklist,
        "findings.png": app.findings,
        "report.png": app.report,
    }
    for name, widget in docks.items():
        shot(name, widget)
    app.jobs.parentWidget().raise_()
    _pump(0.3)
    shot("jobs.png", app.jobs)
    app.triage.parentWidget().raise_()
    _pump(0.3)
    shot("triage.png", app.triage)
    for key, name in (("Shift-C", "coronal.png"), ("Shift-S", "sagittal.png")):
        send_key(canvas, key)
        _pump(0.8)
        path = out / name
        viewer.screenshot(str(path), canvas_only=True, flash=False)
        saved.append(path)
    send_key(canvas, "Shift-A")
    send_key(canvas, "H")
    _pump(0.8)
    shot("keys.png")
    send_key(canvas, "H")
    app.volume_view.show_loading(app.session.study_id)  # what the canvas shows while a case decodes
    _pump(0.6)
    viewer.screenshot(str(out / "loading.png"), canvas_only=True, flash=False)
    saved.append(out / "loading.png")
    if series_study is not None:
        saved += _series_shots(app, series_study, out)
    app.close()
    viewer.close()
    project.close()
    return saved


def _click_crosshair(app: object, canvas: object) -> None:
    """A real left click right of the image centre: the crosshair on the canvas and in the linked views."""
    from qtpy.QtCore import QPoint, Qt
    from qtpy.QtTest import QTest

    w, h = canvas.width(), canvas.height()  # type: ignore[attr-defined]
    QTest.mouseClick(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(w // 2 + w // 8, h // 2 + h // 12)
    )
    _pump(1.0)


RECONSTRUCTIONS = (("soft tissue", "B30f", 2.0, 1.0), ("lung", "B70f", 0.0, 2.5))  # name, kernel, blur, sharpen


def add_reconstructions(project_dir: Path) -> str | None:
    """Give the project's first DICOM phantom study two more series, as a scanner's soft-tissue
    and lung kernels would (its images blurred / sharpened, new SeriesInstanceUID, description and
    ConvolutionKernel), imported into the same study, so the series picker has something to pick.
    Returns the study, or None when the project has no DICOM study. Screenshot material only."""
    import numpy as np
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    from scipy import ndimage

    from radcurate.engine.project import Project

    with Project.open(project_dir) as project:
        studies = [e.study_id for e in project.worklist(reader="screenshots")]
        found = next(((s, r) for s in studies for r in project.series(s) if r.loader == "dicom"), None)
        if found is None:
            return None
        study, record = found
        if len(project.series(study)) > 1:
            return study
        out = project.path / "cache" / "screenshot-reconstructions"
        for name, kernel, blur, sharpen in RECONSTRUCTIONS:
            series_uid = generate_uid()
            folder = out / kernel
            folder.mkdir(parents=True, exist_ok=True)
            for path in record.files:
                ds = pydicom.dcmread(path)
                pixels = ds.pixel_array.astype(np.float32)
                smooth = ndimage.gaussian_filter(pixels, 1.0 + blur)
                image = smooth if blur else pixels + sharpen * (pixels - smooth)
                info = np.iinfo(ds.pixel_array.dtype)
                ds.PixelData = np.clip(np.round(image), info.min, info.max).astype(ds.pixel_array.dtype).tobytes()
                ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
                ds.SeriesInstanceUID, ds.SOPInstanceUID = series_uid, generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                ds.SeriesDescription = f"Phantom chest {name}"
                ds.ConvolutionKernel = kernel
                ds.save_as(folder / Path(path).name, enforce_file_format=True)
        project.import_paths([out])
        return study


def _series_shots(app: object, study: str, out: Path) -> list[Path]:
    """The series picker on a study with three series: the dock, and its list opened."""
    app.session.open_case(study)  # type: ignore[attr-defined]
    _wait_shown(app, study)
    picker = app.series  # type: ignore[attr-defined]
    lung = next(i for i in range(picker.combo.count()) if "lung" in picker.combo.itemText(i))
    picker.combo.setCurrentIndex(lung)
    picker._activated(lung)  # what choosing it with the mouse does
    end = time.perf_counter() + 60
    while app.volume_view.showing != study and time.perf_counter() < end:  # type: ignore[attr-defined]
        _pump(0.05)
    _pump(0.8)
    _click_crosshair(app, app.viewer.window._qt_viewer.canvas.native)  # type: ignore[attr-defined]
    app.viewer.screenshot(str(out / "series.png"), canvas_only=False, flash=False)  # type: ignore[attr-defined]
    picker.combo.showPopup()
    _pump(0.5)
    from qtpy.QtCore import QPoint
    from qtpy.QtGui import QPainter, QPixmap

    report, combo = app.report, picker.combo  # type: ignore[attr-defined]
    listed = combo.view().window().grab()
    below = combo.mapTo(report, QPoint(0, combo.height()))  # the list drawn hanging under the combo
    shot = QPixmap(report.width(), max(report.height(), below.y() + listed.height() + 4))
    shot.fill(report.palette().window().color())
    painter = QPainter(shot)
    painter.drawPixmap(0, 0, report.grab())
    painter.drawPixmap(below, listed)
    painter.end()
    shot.save(str(out / "series-picker.png"))
    picker.combo.hidePopup()
    return [out / "series.png", out / "series-picker.png"]


def _wait_shown(app: object, study: str, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while app.volume_view.showing != study and time.perf_counter() < end:  # type: ignore[attr-defined]
        _pump(0.05)


def _measure(app: object) -> None:
    """A ruler across the body and an ROI in soft tissue, drawn as the mouse tools draw them."""
    import numpy as np

    view = app.volume_view  # type: ignore[attr-defined]
    tool, layer, viewer = view.measure, view.layer, view.viewer
    z = viewer.dims.point[0]
    _, ny, nx = layer.data.shape
    sz, sy, sx = layer.scale
    start = np.array([z, ny * 0.5 * sy, nx * 0.2 * sx])
    end = np.array([z, ny * 0.5 * sy, nx * 0.8 * sx])
    tool._draw("ruler", start, end, None)
    tool._say(tool.measure("ruler", start, end))
    centre = np.array([z, ny * 0.62 * sy, nx * 0.5 * sx])
    edge = centre + np.array([0, 0, 12.0])
    tool._draw("roi", centre, edge, None)
    tool._say(tool.measure("roi", centre, edge))
    tool.overlay.text = "\n".join(r.text for r in tool.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--study", help="open this study for the screenshots (after the keys)")
    parser.add_argument(
        "--reconstructions",
        action="store_true",
        help="give the first DICOM phantom study soft-tissue and lung reconstructions (series picker shots)",
    )
    args = parser.parse_args()
    series_study = add_reconstructions(args.project) if args.reconstructions else None
    for path in take(args.project, args.out, study=args.study, series_study=series_study):
        print(path)


if __name__ == "__main__":
    main()
