"""Triage runtime: ONNX bundle → scores, on onnxruntime + numpy alone (no torch, no network).

The runtime itself arrives with the "Ship" capability (DESIGN §4 Export/Triage). The package
exists from the first release so the import-linter contract that keeps torch and monai out of it
(pyproject ``[tool.importlinter]``) guards every line ever added here.
"""
