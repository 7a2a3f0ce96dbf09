"""NIfTI values and geometry in one import batch, built from the real chest CT (nifti-ct-totalsegmentator).

Each bad file ends in quarantine naming its field, a partly non-finite one imports with the count
in a warning, and the good volume of the same batch imports.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from radcurate.engine.project import Project


@pytest.fixture
def batch(shared_data: Path, tmp_path: Path) -> Path:
    source = shared_data / "nifti-ct-totalsegmentator" / "chest_ct_crop_pulmonary_1.5mm.nii.gz"
    if not source.is_file():
        pytest.skip(f"{source} not found (see shared/data/MANIFEST.md)")
    img = nib.load(str(source))
    data = np.asarray(img.dataobj[40:72, 30:62, 40:56], dtype=np.float32)
    folder = tmp_path / "nifti"
    folder.mkdir()

    def save(name: str, values: np.ndarray, header: nib.Nifti1Header | None = None) -> None:
        out = nib.Nifti1Image(values, img.affine if header is None else None, header or img.header)
        out.set_data_dtype(np.float32)
        nib.save(out, str(folder / name))

    save("good.nii.gz", data)
    save("all_nan.nii.gz", np.full_like(data, np.nan))
    some = data.copy()
    some[0, 0, :5] = np.inf
    save("some_inf.nii.gz", some)
    singular = img.header.copy()
    singular.set_sform(img.affine, code=2)
    singular["srow_y"] = singular["srow_x"]
    save("singular_sform.nii.gz", data, singular)
    return folder


def test_bad_nifti_is_quarantined_by_field_and_the_batch_goes_on(project: Project, batch: Path) -> None:
    summary = project.import_paths([batch])
    fields = {Path(q.path).name: q.field for q in summary.quarantined}
    assert fields == {"all_nan.nii.gz": "data (voxel values)", "singular_sform.nii.gz": "srow_x"}
    series = {Path(s.files[0]).name: s for sid in project.study_ids() for s in project.series(sid)}
    assert set(series) == {"good.nii.gz", "some_inf.nii.gz"}
    warnings = series["some_inf.nii.gz"].metadata["warnings"]
    assert any("5 of 16,384 voxels (0.03%) are NaN or infinite" in w for w in warnings), warnings
    assert not any("NaN" in w for w in series["good.nii.gz"].metadata["warnings"])
