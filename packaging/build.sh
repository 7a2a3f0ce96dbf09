#!/usr/bin/env bash
# Build the review desktop as a PyInstaller one-folder app: dist/radcurate-review/radcurate-review.
#
#   bash packaging/build.sh          (or: make bundle)
#
# Uses the project's virtual environment (VENV, default .venv, with radcurate[desktop] installed);
# installs PyInstaller into it when missing. Work files go to build/pyinstaller/. Prints the
# bundle's size and the build time. Then check it: bash packaging/smoke_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    "$VENV/bin/pip" install "pyinstaller>=6.10"  # the [bundle] extra's build tool
fi
if ! "$PY" -c "import napari, PySide6, onnxruntime" 2>/dev/null; then
    echo "build.sh: $VENV lacks the desktop extra: $VENV/bin/pip install -e '.[desktop]'" >&2
    exit 1
fi
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level "${LOG_LEVEL:-WARN}" \
    --distpath dist --workpath build/pyinstaller packaging/radcurate-review.spec
seconds=$(( $(date +%s) - start ))
app=dist/radcurate-review
if [ -d "$app/_internal/torch" ] || [ -d "$app/_internal/monai" ]; then
    echo "build.sh: torch or monai ended up in the bundle; see EXCLUDES in packaging/radcurate-review.spec" >&2
    exit 1
fi
echo "built $app/radcurate-review: $(du -sh "$app" | cut -f1) ($(du -sb "$app" | cut -f1) bytes) in ${seconds} s"
