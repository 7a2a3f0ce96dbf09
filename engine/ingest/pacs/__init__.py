"""Import from a PACS (DICOMweb, DIMSE): URLs and credentials, SR reports, the fetch-then-import run."""
