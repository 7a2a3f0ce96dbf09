"""The datasheet (``README.md``) of a curated export, after "Datasheets for Datasets" (Gebru et al.).

Written from the manifest, so the numbers in it are the numbers in the files.
"""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(manifest: dict[str, Any], project: Any) -> str:
    """Markdown datasheet for one export."""
    counts = manifest["counts"]
    sources = project.label_sources()
    readers = sorted({r[0] for r in project.db.execute("SELECT DISTINCT reader FROM gold_labels").fetchall()})
    deid = manifest["deidentified"]
    findings = manifest["vocabulary"]
    state_names = ("present", "absent", "uncertain", "not_mentioned", "none")
    state_rows = [[f, *(counts["states"].get(f, {}).get(s, 0) for s in state_names)] for f in findings]
    origin_rows = [[k, v] for k, v in sorted(counts["origins"].items())]
    split_rows = [[k, v] for k, v in counts["splits"].items()]
    source_rows = [[s.name, s.kind, s.plugin or "", s.version or "", s.studies] for s in sources]
    return f"""# Curated chest CT dataset

Made by radcurate {manifest["radcurate_version"]} on {manifest["created_at"]}.
Label snapshot `{manifest["label_snapshot"]}` (sha256 of every study, finding, state and origin).

## Motivation
Chest CT volumes with per-finding labels ({len(findings)} findings), curated from report-derived
silver labels and radiologists' decisions, for training and evaluating classifiers.

## Composition
{counts["studies"]} studies of {counts["patients"]} patients. Volumes are
{"NIfTI (HU, int16; affine in RAS as NIfTI defines it)" if manifest["format"] == "nifti" else "DICOM series"}
(`volumes/`), reports are plain text (`reports/`).

{_table(["split", "studies"], split_rows)}

Label states per finding (`none`: readers disagree and nobody adjudicated):

{_table(["finding", *state_names], state_rows)}

## Where the labels come from
Each finding of each study records its provenance in `labels.jsonl` / `labels.csv`:

{_table(["origin", "labels"], origin_rows)}

* `gold`: readers' decisions. `consensus` is `adjudicated` (an adjudicator's decision settles
  the finding; {counts["adjudicated"]} labels) or `agreed` (every reader who decided gave this state).
* `unresolved`: readers disagree and nobody adjudicated: no state, target masked (-1).
* `silver`: the label of a report extractor (name, version, conventions, model recorded).
* `reference`: only an imported reference labeller has the finding.

Where readers' states differ, every reader's state is listed ({counts["readers_differ"]} labels).
Readers: {", ".join(readers) if readers else "none yet"}.

{_table(["label source", "kind", "plugin", "version", "studies"], source_rows)}

Training target per finding (`datalist.json` `label`, `labels_wide.csv`): present → 1, absent and
not mentioned → 0, uncertain, unresolved or missing → -1 (mask it in the loss).

## Splits
Patient-level ({_split_source(manifest)}): no patient has studies in two splits. A patient is the DICOM
PatientID where the volume had one, else the study.

## De-identification
{"On." if deid else "**Off** (`--no-deidentify`): this export holds the original identifiers; do not share it."}
{_DEID if deid else ""}

## Loading
```python
from monai.data import load_decathlon_datalist
train = load_decathlon_datalist("datalist.json", is_segmentation=False, data_list_key="training", base_dir=".")
```
`manifest.json` lists the sha256 of every file; check them before use.
"""


def _split_source(manifest: dict[str, Any]) -> str:
    splits = manifest["splits"]
    fractions = ", ".join(str(f) for f in splits["fractions"])
    drawn = f"{fractions} of studies for training, validation, test; seed {splits['seed']}"
    if str(splits.get("source", "")).startswith("recorded"):
        return f"the split training recorded for this project, kept; studies it lacks drawn to {drawn}"
    return drawn


_DEID = """* Study and patient ids are keyed pseudonyms (HMAC-SHA256; the key stays with the project).
* Reports and evidence quotes: names, dates, IDs, phone numbers, e-mail, URLs, addresses and
  ages over 89 are replaced by placeholders (`[NAME]`, `[DATE]`, ...), and so is every
  identifier found in the study's own DICOM headers. Pattern-based scrubbing can miss an
  identifier written in an unusual way: review reports before wider release.
* DICOM: dicognito (PS3.15 basic profile: names, UIDs remapped consistently, dates shifted
  together, IDs, addresses, institution) plus removal of comments, descriptions, serial numbers
  and private elements; PatientID / AccessionNumber carry the pseudonyms.
* NIfTI volumes carry no patient metadata."""
