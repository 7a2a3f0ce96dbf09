"""radcurate triage: torch-free on real CT, one changed byte refused, shards, bad volumes skipped, queries."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.triage import inputs
from radcurate.engine.triage.bundle import open_bundle
from radcurate.engine.triage.run import triage
from radcurate.engine.triage.scoring import parse_question

REPO = Path(__file__).resolve().parents[3]
# Runs the real CLI with torch and monai made unimportable: what a core `pip install radcurate` has.
TORCH_FREE = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "monai"):
            raise ImportError(name + " is blocked: triage must not need it")
sys.meta_path.insert(0, Block())
from radcurate.engine.cli import main
sys.argv = ["radcurate", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def bundle() -> Path:
    pytest.importorskip("onnxscript")
    from tests.engine.export.stand_in import clip_bundle

    return clip_bundle()[0]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", TORCH_FREE, *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_cli_scores_every_real_ct_without_torch(bundle: Path, shared_data: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    out = tmp_path / "scores.csv"
    done = _cli("triage", str(bundle), str(shared_data), str(broken), "-q", "There is a pneumothorax.", "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["path", "Cardiomegaly", "Pleural effusion", "Lung nodule", "There is a pneumothorax."]
    scored = {Path(r[0]).name for r in rows[1:]}
    assert scored == {
        "dicom-ct-3slice-dcmqi",
        "dicom-ct-series-j2k-totalsegmentator",
        "abdomen_ct_small_3mm.nii.gz",
        "chest_ct_crop_pulmonary_1.5mm.nii.gz",
    }
    assert all(0.0 <= float(v) <= 1.0 for r in rows[1:] for v in r[1:])
    assert "skipped" in done.stderr and "broken.nii.gz" in done.stderr  # reported, and the rest went on
    as_json = _cli("triage", str(bundle), str(shared_data / "nifti-ct-totalsegmentator"), "--json")
    assert as_json.returncode == 0, as_json.stderr
    entries = json.loads(as_json.stdout)
    assert [sorted(e) for e in entries] == [["path", "scores"]] * 2
    assert list(entries[0]["scores"]) == ["Cardiomegaly", "Pleural effusion", "Lung nodule"]


@pytest.mark.parametrize("target", ["models/image_encoder.onnx.data", "models/tokenizer/vocab.txt", "manifest.json"])
def test_one_changed_byte_is_refused_naming_the_file(bundle: Path, tmp_path: Path, target: str) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    path = copy / target
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as caught:
        open_bundle(copy)
    assert caught.value.path == str(path) or str(path) in str(caught.value)


def test_unlisted_file_and_missing_file_are_refused(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    (copy / "models" / "extra.onnx").write_bytes(b"x")
    with pytest.raises(InputError, match="not listed"):
        open_bundle(copy)
    (copy / "models" / "extra.onnx").unlink()
    (copy / "models" / "prompt_embeddings.npy").unlink()
    with pytest.raises(InputError, match="missing"):
        open_bundle(copy)
    done = _cli("triage", str(copy), str(tmp_path))
    assert done.returncode == 1 and "prompt_embeddings.npy" in done.stderr and "Traceback" not in done.stderr


def _phantoms(folder: Path, n: int) -> list[Path]:
    import nibabel as nib

    from radcurate.engine.demo.phantom.cases import plan_case, render_case

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        spec = plan_case(3, i, shape=(40, 40, 20), spacing=(4.0, 4.0, 8.0))
        affine = np.diag([-4.0, -4.0, 8.0, 1.0])  # RAS on disk; the loader turns it into LPS
        path = folder / f"case{i}.nii.gz"
        nib.save(nib.Nifti1Image(render_case(spec), affine), path)
        paths.append(path)
    return paths


def test_shards_cover_the_inputs_exactly_once(bundle: Path, tmp_path: Path) -> None:
    _phantoms(tmp_path / "a", 3)
    _phantoms(tmp_path / "b", 2)
    whole = triage(bundle, [tmp_path])
    assert len(whole.rows) == 5 and not whole.failures
    parts = [triage(bundle, [tmp_path], shard=inputs.Shard(i, 3)) for i in (1, 2, 3)]
    seen = [row["path"] for part in parts for row in part.rows]
    assert sorted(seen) == sorted(row["path"] for row in whole.rows) and len(set(seen)) == 5
    again = triage(bundle, [tmp_path], shard=inputs.Shard(2, 3))
    assert again.rows == parts[1].rows  # deterministic: same split, same scores
    with pytest.raises(InputError, match="shard"):
        inputs.Shard.parse("4/3")


def test_scores_follow_the_manifest_not_the_project(bundle: Path, tmp_path: Path) -> None:
    """Triage preprocesses with the recipe frozen in the bundle; torch on MONAI's chain with those
    export-time settings gives the same scores (what a changed project setting cannot touch)."""
    torch = pytest.importorskip("torch")
    from radcurate.engine.volumes import preprocessing as monai_chain
    from radcurate.engine.volumes.numpy_preprocessing import recipe_from_settings
    from radcurate.plugins.loaders.nifti import NiftiLoader
    from tests.engine.export.stand_in import SETTINGS, clip_bundle

    model = clip_bundle()[1]
    path = _phantoms(tmp_path, 1)[0]
    got = triage(bundle, [path]).rows[0]["scores"]
    loader = NiftiLoader()
    volume = loader.load(loader.discover([path]).sources[0])
    assert open_bundle(bundle).recipe == recipe_from_settings(SETTINGS, pipeline=monai_chain.PIPELINE_VERSION)
    channels = monai_chain.preprocess(volume, SETTINGS)  # the export-time settings, through MONAI
    from radcurate.engine.training.prompts import PromptTemplate
    from radcurate.engine.training.zero_shot import prompt_embeddings, zero_shot_probabilities
    from tests.engine.export.stand_in import FINDINGS, TEMPLATES

    with torch.no_grad():
        x = torch.from_numpy(channels[None])
        prompts = prompt_embeddings(
            lambda t: model.project_text(model.text_encoder.embed(t)), FINDINGS, [PromptTemplate(*t) for t in TEMPLATES]
        )
        expected = zero_shot_probabilities(model.encode_image(x), prompts, model.scale())[0].numpy()
    assert np.abs(np.array([got[f] for f in FINDINGS]) - expected).max() <= 1e-4


def test_questions_become_sentence_pairs() -> None:
    templates = [["There is {finding}.", "There is no {finding}."], ["{Finding} is present.", "No {finding}."]]
    assert parse_question("There is a pneumothorax.", templates).pairs == (
        ("There is a pneumothorax.", "There is no pneumothorax."),
    )
    assert parse_question("there are calcified nodules", templates).pairs[0][1] == "There are no calcified nodules."
    assert parse_question("Pneumothorax", templates).pairs == (
        ("There is pneumothorax.", "There is no pneumothorax."),
        ("Pneumothorax is present.", "No pneumothorax."),
    )
    assert parse_question("Air under the diaphragm. | No free air.", templates).pairs == (
        ("Air under the diaphragm.", "No free air."),
    )
    with pytest.raises(InputError):
        parse_question("  ", templates)


def test_project_triage_scores_a_study_for_the_desktop_dock(bundle: Path, project, tmp_path: Path) -> None:
    path = _phantoms(tmp_path / "scans", 1)[0]
    project.import_paths([path])
    (study,) = project.study_ids()
    scores = project.triage(study, bundle=bundle, queries=["There is a pneumothorax."])
    assert list(scores) == ["Cardiomegaly", "Pleural effusion", "Lung nodule", "There is a pneumothorax."]
    assert scores["Cardiomegaly"] == pytest.approx(triage(bundle, [path]).rows[0]["scores"]["Cardiomegaly"], abs=1e-6)
