"""``radcurate export-onnx`` (a trained model → bundle) and ``radcurate triage`` (bundle → scores, torch-free).

``triage`` imports only onnxruntime, numpy, tokenizers and the loader plugins (pydicom, nibabel):
torch and monai are never needed, so a core ``pip install radcurate`` runs it. ``export-onnx``
needs the ``[train]`` extra (torch, monai, onnx, onnxscript); it loads the model through the
training registry and writes the bundle atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")


def _triage_command(
    bundle: Path,
    paths: list[Path],
    query: list[str],
    out: Optional[Path],
    shard: Optional[str],
    threads: int,
    as_json: bool,
) -> None:
    from rich.markup import escape

    from radcurate.engine.cli.app import err_console, print_json, progress_bar
    from radcurate.engine.errors import InputError
    from radcurate.engine.triage import inputs
    from radcurate.engine.triage.run import render_csv, triage, write_output

    picked = inputs.Shard.parse(shard)
    with progress_bar(note=True, stderr=True) as bar:
        task = bar.add_task("triage", total=None, note="")

        def on_progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, note=Path(label).name)

        result = triage(
            bundle, [str(p) for p in paths], queries=query, shard=picked, threads=threads, progress=on_progress
        )
    for failure in result.failures:
        err_console.print(f"[yellow]skipped[/] {escape(failure.path)}: {escape(failure.reason)}", soft_wrap=True)
    if not result.rows and result.failures:
        raise InputError(f"no volume could be scored ({len(result.failures)} skipped)", path=result.failures[0].path)
    if out is not None:
        write_output(result, out)
    elif as_json:
        print_json(result.as_json())
    else:
        import sys

        sys.stdout.write(render_csv(result))


def export_registered(directory: Path, model: str, out: Path, *, int8: bool = False) -> dict[str, Any]:
    """Open the project at ``directory`` and write registered ``model``'s bundle at ``out``
    (engine/export/onnx_registered.py)."""
    from radcurate.engine.export.onnx_registered import export_registered as export
    from radcurate.engine.project import Project

    with Project.open(directory) as project:
        return export(project, model, out, int8=int8)


def register(app: typer.Typer) -> None:
    """Add ``export-onnx`` and ``triage`` to ``app``."""

    @app.command("triage")
    def triage_cmd(
        bundle: Path = typer.Argument(..., help="A bundle folder made by `radcurate export-onnx`."),
        paths: list[Path] = typer.Argument(..., help="DICOM folders or files, NIfTI files, or folders of them."),
        query: list[str] = typer.Option(
            [], "--query", "-q", help="A free-text question to score too (repeatable): 'There is a pneumothorax.'"
        ),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write scores to FILE.csv or FILE.json."),
        shard: Optional[str] = typer.Option(
            None, "--shard", help="i/n: score only the i-th of n deterministic parts (e.g. $SLURM_ARRAY_TASK_ID/n)."
        ),
        threads: int = typer.Option(0, "--threads", help="onnxruntime intra-op threads (0: one per core)."),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Score chest CT volumes with a bundle; needs no torch (onnxruntime + numpy).

        Prints CSV (path, one column per finding, one per --query) unless --out or --json.

        Example: radcurate triage bundle/ ~/scans/ct-series scan.nii.gz -q "There is a pneumothorax." -o scores.csv
        """
        _triage_command(bundle, paths, query, out, shard, threads, as_json)

    @app.command("export-onnx")
    def export_onnx(
        directory: Path = typer.Argument(..., help="Project folder."),
        model: str = typer.Argument(..., help="Model id (see `radcurate models DIR`)."),
        out: Path = typer.Argument(..., help="Bundle folder to write (replaced only if it is a bundle)."),
        int8: bool = typer.Option(
            False, "--int8", help="Quantize the image graph (static int8); kept only if macro AUC drops <= 0.005."
        ),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Export a trained model as a MONAI-style ONNX bundle that `radcurate triage` runs without torch.

        Example: radcurate export-onnx myproject clip-0003 bundles/clip-0003 --int8
        """
        from radcurate.engine.cli.app import console, print_json, progress_bar

        with progress_bar(note=True, stderr=True) as bar:
            task = bar.add_task("export-onnx", total=None, note="graphs, parity checks")
            manifest = export_registered(directory, model, out, int8=int8)
            bar.update(task, completed=1, total=1)
        summary = {
            "bundle": str(out),
            "model": manifest["model"]["id"],
            "kind": manifest["kind"],
            "parity": manifest.get("parity"),
            "int8": manifest.get("int8"),
            "files": len(manifest["files"]),
        }
        if as_json:
            print_json(summary)
            return
        quant = manifest.get("int8")
        if quant:
            verdict = "kept" if quant["kept"] else "dropped (AUC did not hold)"
            console.print(
                f"int8: macro AUC fp32 {quant['fp32_macro_auc']:.4f}, int8 {quant['int8_macro_auc']:.4f} → {verdict}"
            )
