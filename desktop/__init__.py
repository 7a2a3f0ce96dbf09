"""The radcurate review app: napari + Qt widgets over the engine's Project façade (no SQL, no torch)."""
