"""``radcurate inspect PATH``: describe the CT volume(s) in a DICOM folder/file or a NIfTI file.

No project needed. The path goes through the same loader plugins as an import (headers first,
then one full load per volume), so what inspect shows is what import would store: shape, spacing,
orientation, HU range, modality, transfer syntax and the loader's warnings. A folder holding
several series lists each. Files a loader refuses are listed with the DICOM keyword at fault;
if nothing loads, the first refusal becomes the one-line error (exit code 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

_NOT_CT_FIELDS = {"Modality", "SOPClassUID", "MediaStorageSOPClassUID", "ImageType"}
JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def _loaders() -> list[Any]:
    from radcurate.engine.contracts.plugins import working
    from radcurate.engine.errors import PluginError

    loaders = [info.factory() for info in working("loaders") if info.factory is not None]
    if not loaders:
        raise PluginError("no working loader plugin is installed (see `radcurate plugins`)")
    return loaders


def inspect_path(path: Path) -> dict[str, Any]:
    """Discover and load every volume under ``path``; JSON-ready summary.

    Raises :class:`~radcurate.engine.errors.InputError` when the path is missing or holds no
    volume that loads (the message is the first refusal, naming file and field).
    """
    from radcurate.engine.errors import InputError
    from radcurate.engine.ingest.walk import walk
    from radcurate.engine.volumes.volume import describe

    remaining = walk([path])
    found: list[tuple[Any, Any]] = []
    refused: list[dict[str, str | None]] = []
    for loader in _loaders():
        discovery = loader.discover(remaining)
        found.extend((loader, source) for source in discovery.sources)
        refused.extend({"path": r.path, "field": r.field, "reason": r.reason} for r in discovery.rejected)
        claimed = set(discovery.claimed) | {r.path for r in discovery.rejected}
        claimed |= {f for source in discovery.sources for f in source.files}
        remaining = [f for f in remaining if str(f) not in claimed]
    volumes = []
    for loader, source in found:
        try:
            volume = loader.load(source)
        except InputError as exc:
            refused.append({"path": exc.path or source.files[0], "field": exc.field, "reason": exc.reason})
            continue
        summary = describe(volume)
        summary.update(
            loader=source.loader,
            description=source.description,
            study_key=source.study_key,
            series_key=source.series_key,
            files=len(source.files),
            transfer_syntax_name=volume.metadata.get("transfer_syntax_name"),
            original_geometry=volume.metadata.get("original_geometry"),
        )
        volumes.append(summary)
    if not volumes:
        if refused:
            # A broken CT series says more than the CR/MR/scout files lying beside it.
            first = min(refused, key=lambda r: r["field"] in _NOT_CT_FIELDS)
            others = f" ({len(refused) - 1} more file(s) refused)" if len(refused) > 1 else ""
            raise InputError(f"{first['reason']}{others}", path=first["path"], field=first["field"])
        raise InputError("no DICOM series or NIfTI volume found here", path=path)
    return {"path": str(path), "volumes": volumes, "refused": refused, "ignored": [str(f) for f in remaining]}


def _print_report(report: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from radcurate.engine.cli.app import console

    for v in report["volumes"]:
        name = escape(v["description"] or v["source"])
        table = Table(title=name, show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value")
        table.add_row("source", escape(v["source"]))
        table.add_row("shape (X×Y×Z)", " × ".join(str(n) for n in v["shape"]))
        table.add_row("spacing (mm)", " × ".join(f"{s:g}" for s in v["spacing"]))
        table.add_row("orientation", v["orientation"])
        table.add_row("HU min … max", f"{v['hu_min']:g} … {v['hu_max']:g}")
        table.add_row("modality", v["modality"])
        syntax = v["transfer_syntax"] or "-"
        if v.get("transfer_syntax_name") and v["transfer_syntax_name"] != syntax:
            syntax += f" ({v['transfer_syntax_name']})"
        table.add_row("transfer syntax", escape(syntax))
        original = v.get("original_geometry")
        if original:  # shape and spacing above are the resampled grid; say what the scanner wrote
            if original.get("gantry_detector_tilt_degrees"):
                table.add_row("gantry tilt", f"{original['gantry_detector_tilt_degrees']:g}° (GantryDetectorTilt)")
            distances = original["slice_distances_mm"]
            steps = sorted({round(b - a, 2) for a, b in zip(distances, distances[1:], strict=False)})
            table.add_row(
                "resampled",
                escape(
                    f"{original['slices']} slices (steps {', '.join(f'{s:g}' for s in steps)} mm, shear "
                    f"{original['shear_degrees']:g}°) → {original['resampled_slices']} slices every "
                    f"{original['resampled_step_mm']:.4g} mm on a box-shaped grid"
                ),
            )
        for warning in v["warnings"]:
            table.add_row("[yellow]warning[/]", escape(warning))
        console.print(table)
    for r in report["refused"]:
        where = escape(str(r["path"]) + (f" [{r['field']}]" if r["field"] else ""))
        console.print(f"[red]refused[/] {where}: {escape(str(r['reason']))}", soft_wrap=True)
    if report["ignored"]:
        console.print(f"{len(report['ignored'])} file(s) ignored: not DICOM or NIfTI")


def register(app: typer.Typer) -> None:
    """Add ``inspect`` to ``app`` (once: registering twice is a no-op)."""
    if any((c.name or getattr(c.callback, "__name__", "")) == "inspect" for c in app.registered_commands):
        return

    @app.command()
    def inspect(
        path: Path = typer.Argument(..., help="A DICOM folder or file, or a NIfTI file (.nii, .nii.gz)."),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Describe the CT volume(s) in PATH without a project: shape, spacing, orientation, HU.

        Example: radcurate inspect ~/scans/ct-series --json
        """
        from radcurate.engine.cli.app import print_json

        report = inspect_path(path)
        if as_json:
            print_json(report)
        else:
            _print_report(report)
