"""radcurate engine: projects, store, ingest, extraction and (later) training, export, triage.

The engine is headless: it never imports Qt or napari (an import-linter contract enforces it),
so the CLI, the desktop app and batch jobs all drive the same code.
"""

__version__ = "0.1.0"
