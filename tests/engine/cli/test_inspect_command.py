"""``radcurate inspect``: what a user sees about a DICOM folder or NIfTI file, without a project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from radcurate.engine.cli.inspect_command import inspect_path, register
from radcurate.engine.errors import InputError
from tests.plugins.loaders.dicom_corpus import write_mr_series, write_two_series_mixed


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    register(app)  # idempotent: the lead's app may register it too

    @app.command()
    def other() -> None:  # a second command keeps typer from collapsing to a single-command app
        """Placeholder."""

    return app


def test_json_describes_the_three_slice_series(cli: typer.Typer, shared_data: Path) -> None:
    folder = shared_data / "dicom-ct-3slice-dcmqi"
    result = CliRunner().invoke(cli, ["inspect", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (volume,) = report["volumes"]
    assert volume["shape"] == [512, 512, 3]
    assert volume["spacing"] == pytest.approx([0.810547, 0.810547, 1.0])
    assert volume["orientation"] == "LPS" and volume["modality"] == "CT"
    assert (volume["hu_min"], volume["hu_max"]) == (-3024.0, 1381.0)
    assert volume["transfer_syntax"] == "1.2.840.10008.1.2"
    assert volume["study_key"] == "03086212" and volume["files"] == 3
    assert any("PixelPaddingValue" in w for w in volume["warnings"])
    assert report["ignored"] == [str(folder / "LICENSE.txt")] and report["refused"] == []


def test_table_output_names_shape_spacing_and_warnings(cli: typer.Typer, shared_data: Path) -> None:
    path = shared_data / "nifti-ct-totalsegmentator" / "abdomen_ct_small_3mm.nii.gz"
    result = CliRunner().invoke(cli, ["inspect", str(path)], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "122 × 101 × 30" in result.output and "3 × 3 × 3" in result.output
    assert "LPS" in result.output and "-1100 … 1207" in result.output


def test_a_folder_with_two_series_lists_both(tmp_path: Path) -> None:
    write_two_series_mixed(tmp_path)
    report = inspect_path(tmp_path)
    assert sorted(v["description"] for v in report["volumes"]) == ["mixed_a (3 files)", "mixed_b (3 files)"]
    assert {tuple(v["shape"]) for v in report["volumes"]} == {(128, 128, 3)}


def test_a_refused_folder_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    paths = write_mr_series(tmp_path)
    with pytest.raises(InputError) as caught:
        inspect_path(tmp_path)
    assert caught.value.field == "Modality" and caught.value.path in {str(p) for p in paths}
    # Through the real entry point: RadcurateError → one line on stderr, exit code 1.
    code = (
        "import sys; from radcurate.engine.cli.app import app, run; "
        "from radcurate.engine.cli.inspect_command import register; register(app); "
        f"sys.argv = ['radcurate', 'inspect', {str(tmp_path)!r}]; run()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "[Modality]" in done.stderr and "modality MR is not CT" in done.stderr


def test_a_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        inspect_path(tmp_path / "nope")
    assert caught.value.path == str(tmp_path / "nope")
