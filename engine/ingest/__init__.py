"""Volumes and reports into the store: walking inputs, report tables, import runs, quarantine records."""
