"""The dock widgets, one per module: worklist, findings, report, triage, jobs."""
