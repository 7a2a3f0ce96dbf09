"""What leaves the engine: ONNX bundles and curated datasets, with de-identification."""
