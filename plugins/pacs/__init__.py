"""Built-in PACS clients (entry-point group ``radcurate.pacs``): DICOMweb and DIMSE."""
