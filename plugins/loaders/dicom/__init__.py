"""The DICOM series loader: grouping by series, geometry along the slice normal, pixels to HU."""
