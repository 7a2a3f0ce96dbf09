"""radcurate as a napari plugin (npe2 manifest ``napari.yaml``): a reader and the review widget.

* Reader: DICOM folders/files and NIfTI through the engine's loader plugins (the same ones
  ``radcurate import`` uses, found with ``radcurate.engine.contracts.plugins.working("loaders")``), so napari
  shows HU in the canonical layout with spacing honoured.
* Widget: "Review labels" opens a project's review (worklist, report, findings, keys) inside the
  napari window the user already has.
* Reader preference: napari's builtin reader also claims ``*.nii.gz``, ``*.dcm`` and every folder
  (and fails on them), and File ▸ Open then pre-selects it. :func:`prefer_radcurate_reader`
  records radcurate as the reader for NIfTI, DICOM files and folders in napari's settings
  (where napari keeps the reader a user chose), unless the user chose another one already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from radcurate.desktop.viewer.canvas import to_display
from radcurate.desktop.viewer.presets import LUNG

NIFTI_SUFFIXES = (".nii", ".nii.gz")
LayerData = tuple[Any, dict[str, Any], str]
PLUGIN_NAME = "radcurate"
# napari settings: filename pattern → reader plugin; a folder matches "<path>/"
READER_PATTERNS = {
    "*.nii": PLUGIN_NAME,
    "*.nii.gz": PLUGIN_NAME,
    "*.dcm": PLUGIN_NAME,
    "*.ima": PLUGIN_NAME,
    "*/": PLUGIN_NAME,  # DICOM folders
    "*.zarr/": "napari",  # …but a zarr folder stays napari's, as without radcurate
}


def prefer_radcurate_reader() -> dict[str, str]:
    """Make radcurate napari's reader for NIfTI and DICOM (files and folders); returns what it added.

    Patterns the user already gave a reader keep theirs.
    """
    from napari.settings import get_settings

    plugins = get_settings().plugins
    current = dict(plugins.extension2reader)
    added = {pattern: reader for pattern, reader in READER_PATTERNS.items() if pattern not in current}
    if added:
        plugins.extension2reader = {**current, **added}
    return added


# --------------------------------------------------------------------------- reader
def _files_under(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path]


def _looks_readable(path: Path) -> bool:
    name = path.name.lower()
    return path.is_dir() or name.endswith(NIFTI_SUFFIXES) or name.endswith((".dcm", ".ima"))


def get_reader(path: str | Sequence[str]) -> Callable[[Any], list[LayerData]] | None:
    """napari reader hook: a function for DICOM folders/files and NIfTI, else None (napari asks others)."""
    paths = [path] if isinstance(path, str | Path) else list(path)
    if not paths or not all(_looks_readable(Path(p)) for p in paths):
        return None
    return read_volumes


def read_volumes(path: str | Sequence[str]) -> list[LayerData]:
    """Every volume the engine's loaders find under ``path``, as napari image layers (Z, Y, X; mm)."""
    from radcurate.engine.contracts.plugins import working

    paths = [path] if isinstance(path, str | Path) else list(path)
    files = [f for p in paths for f in _files_under(Path(p))]
    layers: list[LayerData] = []
    claimed: set[str] = set()
    for info in working("loaders"):
        loader = info.factory()
        discovery = loader.discover([f for f in files if str(f) not in claimed])
        claimed |= {str(c) for c in discovery.claimed}
        for source in discovery.sources:
            shown = to_display(loader.load(source), source.study_key, source.series_key)
            name = source.description or source.study_key
            layers.append(
                (
                    shown.data,
                    {
                        "name": name,
                        "scale": shown.scale,
                        "colormap": "gray",
                        "contrast_limits": LUNG.contrast_limits,
                        "metadata": {
                            "study_key": source.study_key,
                            "series_key": source.series_key,
                            "loader": info.name,
                        },
                    },
                    "image",
                )
            )
    return layers


# --------------------------------------------------------------------------- widget
class ReviewPanel(QWidget):
    """Plugins ▸ radcurate ▸ Review labels: pick a project and a reader name, then review in this viewer."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.app: Any = None
        prefer_radcurate_reader()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("project folder (made by radcurate init)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.reader = QLineEdit()
        self.reader.setPlaceholderText("your name, stamped on every decision")
        self.start_button = QPushButton("Start review")
        self.start_button.clicked.connect(self.start)
        self.message = QLabel("Press H on the image for every key once the review starts.")
        self.message.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("project", row)
        form.addRow("reader", self.reader)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "radcurate project folder")
        if folder:
            self.folder.setText(folder)

    def start(self) -> bool:
        """Open the project and start the review in this viewer; False (with the reason shown) if not."""
        from radcurate.desktop.app import ReviewApp
        from radcurate.engine.errors import RadcurateError
        from radcurate.engine.project import Project

        reader = self.reader.text().strip()
        if not reader:
            self.message.setText("Enter your name first: it is stamped on every decision.")
            return False
        try:
            project = Project.open(self.folder.text().strip())
        except RadcurateError as exc:
            self.message.setText(str(exc))
            return False
        if self.app is not None:
            self.app.close(remove_docks=True)
        self.app = ReviewApp(self.viewer, project, reader, own_window=False)
        self.app.start()
        self.message.setText(f"reviewing {project.path.name} as {reader}; press H on the image for the keys")
        return True
