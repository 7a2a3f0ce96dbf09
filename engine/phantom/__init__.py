"""Synthetic phantom cohort: torso-like CT volumes in HU with drawn-in findings, reports and truth."""
