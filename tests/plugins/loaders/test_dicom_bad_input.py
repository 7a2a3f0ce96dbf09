"""Bad DICOM input: each kind gets a specific, named refusal and the rest of the batch goes on.

The corpus (``tests/plugins/loaders/dicom_corpus.py``) states the expected outcome of each input; these
tests hold the loader to it at both stages: discovery (headers only) and loading (a source built
by hand, as an older import or a third-party caller might).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydicom.data
import pytest

from radcurate.engine.contracts.plugins import VolumeSource
from radcurate.engine.errors import InputError
from radcurate.plugins.loaders.dicom.series import DicomSeriesLoader
from tests.plugins.loaders.dicom_corpus import BAD_INPUTS, BadInput, write_ct_series

PYDICOM_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def loader() -> DicomSeriesLoader:
    return DicomSeriesLoader()


def _hand_made_source(paths: list[Path]) -> VolumeSource:
    return VolumeSource(loader="dicom", files=tuple(map(str, paths)), study_key="s", series_key="s")


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b.name for b in BAD_INPUTS])
def test_each_bad_input_gets_its_named_outcome(loader: DicomSeriesLoader, tmp_path: Path, bad: BadInput) -> None:
    paths = bad.write(tmp_path)
    found = loader.discover(paths)
    if bad.outcome == "unclaimed":
        assert not found.claimed and not found.sources and not found.rejected
        return
    assert found.claimed == {str(p) for p in paths}  # DICOM: claimed, so never silently dropped
    if bad.outcome == "rejected":
        assert not found.sources
        assert {r.path for r in found.rejected} == {str(p) for p in paths}
        assert {r.field for r in found.rejected} == {bad.field}
        assert all(bad.says in r.reason for r in found.rejected)
        with pytest.raises(InputError) as caught:  # loading the same files directly says the same
            loader.load(_hand_made_source(paths))
        assert caught.value.field == bad.field and caught.value.path in {str(p) for p in paths}
    elif bad.outcome == "load_error":
        assert not found.rejected and len(found.sources) == 1
        with pytest.raises(InputError) as caught:
            loader.load(found.sources[0])
        assert caught.value.field == bad.field and caught.value.path in {str(p) for p in paths}
        assert "\n" not in str(caught.value)  # one line for the CLI and the quarantine list
    elif bad.outcome == "warning":
        volume = loader.load(found.sources[0])
        assert any(bad.says in w for w in volume.warnings), volume.warnings
        if bad.name == "duplicate_slices":
            assert volume.shape[2] == len(paths) - 1
    elif bad.outcome == "resampled":
        assert not found.rejected and len(found.sources) == 1
        volume = loader.load(found.sources[0])
        assert any(bad.says in w and "resampled" in w for w in volume.warnings), volume.warnings
        original = volume.metadata["original_geometry"]
        assert original["field"] == bad.field and original["slices"] == len(paths)
    elif bad.outcome == "split":
        assert not found.rejected and len(found.sources) == 2
        assert {len(s.files) for s in found.sources} == {3}
        assert len({s.series_key for s in found.sources}) == 2
    else:
        raise AssertionError(f"unknown outcome {bad.outcome}")


def test_reasons_name_what_to_fix(loader: DicomSeriesLoader, tmp_path: Path) -> None:
    reasons = {}
    for bad in BAD_INPUTS:
        found = loader.discover(bad.write(tmp_path / bad.name))
        if found.rejected:
            reasons[bad.name] = found.rejected[0].reason
    assert "12,906 of the 32,768 bytes" in reasons["truncated"]
    assert "modality MR is not CT" in reasons["mr_series"]
    assert "1 missing slice(s)" in reasons["missing_slice"] and "step is 2.50 mm" in reasons["missing_slice"]
    assert "not orthogonal (60.0° apart)" in reasons["skewed_orientation"]
    assert "JPEG Lossless, Hierarchical (Process 28)" in reasons["undecodable"]
    assert "1.2.840.10008.1.2.4.65" in reasons["undecodable"]


def test_one_bad_file_does_not_spoil_the_batch(loader: DicomSeriesLoader, tmp_path: Path) -> None:
    everything: list[Path] = []
    for bad in BAD_INPUTS:
        everything += bad.write(tmp_path)  # all in one folder, as a messy export would be
    good = write_ct_series(tmp_path, name="good")
    found = loader.discover(everything + good)
    good_sources = [s for s in found.sources if set(s.files) == {str(p) for p in good}]
    assert len(good_sources) == 1
    assert loader.load(good_sources[0]).shape == (128, 128, 5)
    rejected_fields = {r.field for r in found.rejected}
    assert {b.field for b in BAD_INPUTS if b.outcome == "rejected"} <= rejected_fields


def test_non_ct_and_non_image_files_from_pydicom(loader: DicomSeriesLoader) -> None:
    names = ["MR_small.dcm", "rtplan.dcm", "MR_truncated.dcm", "no_meta.dcm", "README.txt"]
    found = loader.discover([PYDICOM_FILES / n for n in names])
    by_name = {Path(r.path).name: r for r in found.rejected}
    assert by_name["MR_small.dcm"].field == "Modality"
    assert by_name["rtplan.dcm"].field == "Modality"  # RTPLAN
    assert by_name["MR_truncated.dcm"].field == "Modality"  # refused as MR before its pixels matter
    assert str(PYDICOM_FILES / "README.txt") not in found.claimed
    assert str(PYDICOM_FILES / "no_meta.dcm") not in found.claimed  # unparseable without a preamble


def test_missing_file_at_load_names_it(loader: DicomSeriesLoader, tmp_path: Path) -> None:
    paths = write_ct_series(tmp_path)
    source = loader.discover(paths).sources[0]
    paths[1].unlink()
    with pytest.raises(InputError) as caught:
        loader.load(source)
    assert caught.value.path == str(paths[1]) and "not found" in caught.value.reason


def test_a_file_changed_to_mr_after_discovery_is_refused_at_load(loader: DicomSeriesLoader, tmp_path: Path) -> None:
    paths = write_ct_series(tmp_path)
    source = loader.discover(paths).sources[0]
    ds = pydicom.dcmread(paths[3])
    ds.Modality = "MR"
    ds.save_as(paths[3])
    with pytest.raises(InputError) as caught:
        loader.load(source)
    assert (caught.value.path, caught.value.field) == (str(paths[3]), "Modality")


def test_compressed_series_without_its_decoder_names_the_syntax(shared_data: Path) -> None:
    """The real J2K series in a Python where the JPEG 2000 decoders cannot be imported."""
    folder = shared_data / "dicom-ct-series-j2k-totalsegmentator"
    code = (
        "import sys\n"
        "for name in ('openjpeg', 'PIL', 'pylibjpeg', 'libjpeg', 'rle'):\n"
        "    sys.modules[name] = None  # as if never installed\n"
        "from pathlib import Path\n"
        "from radcurate.plugins.loaders.dicom.series import DicomSeriesLoader\n"
        f"found = DicomSeriesLoader().discover(sorted(Path({str(folder)!r}).iterdir()))\n"
        "assert not found.sources and len(found.rejected) == 20, found\n"
        "print(found.rejected[0].field, '|', found.rejected[0].reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    field, reason = done.stdout.strip().split(" | ", 1)
    assert field == "TransferSyntaxUID"
    assert "JPEG 2000 Image Compression (Lossless Only) (1.2.840.10008.1.2.4.90)" in reason
    assert "needs a decoder that is not installed" in reason and "pylibjpeg-openjpeg" in reason
