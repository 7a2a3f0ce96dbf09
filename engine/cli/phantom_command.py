"""``radcurate phantom OUT``: write a synthetic phantom cohort (volumes, reports, truth)."""

from __future__ import annotations

from pathlib import Path

import typer


def _parse_triple(text: str, name: str, kind: type) -> tuple:
    from radcurate.engine.errors import InputError

    parts = [p for p in text.replace("x", ",").replace("×", ",").split(",") if p.strip()]
    try:
        values = tuple(kind(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        raise InputError(f"expected three numbers like 64,56,40, got {text!r}", field=name)
    return values


def phantom(
    out: Path = typer.Argument(..., help="Folder to write the cohort into (new or empty)."),
    cases: int = typer.Option(16, "--cases", "-n", min=1, help="Number of studies."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed writes the same bytes."),
    shape: str = typer.Option("64,56,40", "--shape", help="Voxels along x (L), y (P), z (S)."),
    spacing: str = typer.Option("6,6,8", "--spacing", help="Voxel size in mm along x, y, z."),
    dicom_fraction: float = typer.Option(0.5, "--dicom-fraction", min=0.0, max=1.0, help="Share written as DICOM."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a phantom cohort already in OUT."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Build a synthetic chest CT cohort with known findings, for tests and demos."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from radcurate.engine.cli.app import console, err_console, print_json
    from radcurate.engine.demo.phantom.cohort import generate_cohort

    columns = (TextColumn("phantom"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("cases", total=cases)
        summary = generate_cohort(
            out,
            cases,
            seed,
            shape=_parse_triple(shape, "--shape", int),
            spacing=_parse_triple(spacing, "--spacing", float),
            dicom_fraction=dicom_fraction,
            overwrite=overwrite,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(
        f"Wrote {summary.cases} phantom studies to {summary.out} ({summary.n_dicom} DICOM, "
        f"{summary.n_nifti} NIfTI; {len(summary.findings_drawn)} findings drawn) in {summary.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )


_HELP = "\n\n".join(
    [
        "Build a synthetic chest CT cohort with known findings, for tests and demos.",
        "Torso-like volumes in HU (DICOM series and NIfTI files) with findings drawn in, reports that "
        "state them (with negation, uncertainty and synonyms), truth.csv (what is drawn) and "
        "report_truth.csv (what each report states).",
        "Example: radcurate phantom demo-data --cases 64 --seed 1",
    ]
)


def register(app: typer.Typer) -> None:
    """Add the ``phantom`` command to the radcurate application."""
    app.command("phantom", help=_HELP)(phantom)
