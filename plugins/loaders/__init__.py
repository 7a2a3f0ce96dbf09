"""Built-in volume loaders: DICOM series and NIfTI."""
