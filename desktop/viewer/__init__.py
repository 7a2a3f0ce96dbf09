"""The napari canvas: volume display, window presets, key bindings, prefetching the next case."""
