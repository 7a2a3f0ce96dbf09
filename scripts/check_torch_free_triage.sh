#!/usr/bin/env bash
# CI: prove that a core install (`pip install radcurate`, no extras, no torch) runs `radcurate triage`.
#
# 1. export a small CLIP bundle with the [train] environment (the test suite's stand-in model);
# 2. make a fresh venv and install radcurate into it without extras;
# 3. check torch and monai are not importable there;
# 4. triage every real CT in ../shared/data (when present) plus a few phantom volumes, with a
#    free-text query, and check one row per volume came out.
#
# Usage: scripts/check_torch_free_triage.sh [PYTHON_WITH_TRAIN_EXTRA]   (default: .venv/bin/python)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
train_python=${1:-$repo/.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/radcurate-torch-free.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== bundle (exported with $train_python)"
(cd "$repo" && "$train_python" - "$work/bundle" <<'PY'
import shutil, sys
from tests.engine.export.stand_in import clip_bundle
shutil.copytree(clip_bundle()[0], sys.argv[1])
PY
)

echo "== core venv without extras"
python3 -m venv "$work/core"
"$work/core/bin/pip" install --quiet --disable-pip-version-check "$repo"
if "$work/core/bin/python" -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') or u.find_spec('monai') else 1)"; then
    echo "torch or monai is installed in the core venv: the check proves nothing" >&2
    exit 1
fi

echo "== triage"
"$work/core/bin/radcurate" phantom "$work/cohort" --cases 3 --seed 11 >/dev/null
inputs=("$work/cohort")
expected=3
if [ -d "$repo/../shared/data" ]; then
    inputs+=("$repo/../shared/data")
    expected=$((expected + 4))  # 2 NIfTI + 2 DICOM series (MANIFEST.md)
fi
"$work/core/bin/radcurate" triage "$work/bundle" "${inputs[@]}" -q "There is a pneumothorax." -o "$work/scores.csv"
rows=$(($(wc -l < "$work/scores.csv") - 1))
head -1 "$work/scores.csv"
if [ "$rows" -lt "$expected" ]; then
    echo "expected at least $expected scored volumes, got $rows" >&2
    exit 1
fi
echo "torch-free triage OK: $rows volumes scored"

echo "== training without torch says so in one line"
"$work/core/bin/radcurate" init "$work/project" --preset demo >/dev/null
if "$work/core/bin/radcurate" train "$work/project" --kind supervised 2> "$work/train.err"; then
    echo "train ran without torch?" >&2
    exit 1
fi
if grep -q Traceback "$work/train.err" || ! grep -q "radcurate\[train\]" "$work/train.err"; then
    cat "$work/train.err" >&2
    echo "expected one line naming radcurate[train], got the above" >&2
    exit 1
fi
echo "train without torch: $(cat "$work/train.err")"
