"""Synthetic phantom cohort: torso-like CT volumes in HU with drawn-in findings, reports and truth.

Entry point: :func:`generate_cohort` (``radcurate phantom``). For tests that need a volume
without files, :func:`plan_case` + :func:`render_case` give the exact HU array (int16, LPS) a
case's DICOM series or NIfTI file holds; :func:`draw_case` also returns each finding's region.
"""

from radcurate.engine.demo.phantom.cases import CaseSpec, DrawnCase, draw_case, plan_case, render_case
from radcurate.engine.demo.phantom.cohort import CohortSummary, generate_cohort, plan_cohort
from radcurate.engine.demo.phantom.reports import PhantomReport, compose_report

__all__ = [
    "CaseSpec",
    "CohortSummary",
    "DrawnCase",
    "PhantomReport",
    "compose_report",
    "draw_case",
    "generate_cohort",
    "plan_case",
    "plan_cohort",
    "render_case",
]
