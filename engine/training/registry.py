"""The model registry: every trained model as a ``models`` row plus its files under ``models/<version>/``.

A row holds (DESIGN §4, issue "Learning" §6): ``id``, ``version`` (a readable unique name such as
``supervised-3``), ``kind`` (``supervised`` / ``clip`` / ``probe``), ``parent`` (the model a CLIP run
or a probe started from), ``start`` (``scratch`` / ``init`` / ``locked`` / ``probe``), the settings
it trained with, the label-snapshot hash of exactly the labels it used, its metrics, and its files
each with their sha256 (checked on load, so a swapped or damaged weight file is refused by name).
The row is written after the files are complete, so a row never points at half a model.

A model is named on the command line by its id (``3``) or version (``supervised-3``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from radcurate.engine.errors import InputError
from radcurate.engine.store.database import utc_now
from radcurate.engine.store.decisions import write_transaction

KINDS = ("supervised", "clip", "probe")


@dataclass(frozen=True)
class ModelRecord:
    """One registered model, as stored."""

    id: int
    version: str
    kind: str
    parent: int | None
    start: str
    settings: dict[str, Any]
    label_snapshot: str
    metrics: dict[str, Any]
    files: tuple[dict[str, str], ...]
    job_id: int | None
    created_at: str

    def folder(self, project_path: Path) -> Path:
        return Path(project_path) / "models" / self.version

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "kind": self.kind,
            "parent": self.parent,
            "start": self.start,
            "label_snapshot": self.label_snapshot,
            "metrics": self.metrics,
            "files": list(self.files),
            "settings": self.settings,
            "job": self.job_id,
            "created_at": self.created_at,
        }


_COLUMNS = "id, version, kind, parent, start, settings, label_snapshot, metrics, files, job_id, created_at"


def _record(row: Sequence[Any]) -> ModelRecord:
    return ModelRecord(
        int(row[0]),
        row[1],
        row[2],
        row[3],
        row[4],
        json.loads(row[5] or "{}"),
        row[6],
        json.loads(row[7] or "{}"),
        tuple(json.loads(row[8] or "[]")),
        row[9],
        row[10],
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def next_version(db: sqlite_utils.Database, kind: str) -> str:
    """``<kind>-<n>`` with ``n`` one past the highest model id (unique because ids are)."""
    (top,) = db.execute("SELECT coalesce(max(id), 0) FROM models").fetchone()
    return f"{kind}-{int(top) + 1}"


def register(
    db: sqlite_utils.Database,
    project_path: Path,
    *,
    version: str,
    kind: str,
    start: str,
    parent: int | None,
    settings: Mapping[str, Any],
    label_snapshot: str,
    metrics: Mapping[str, Any],
    files: Sequence[str],
    job_id: int | None = None,
) -> ModelRecord:
    """Record a model whose files (names relative to ``models/<version>/``) are already written."""
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r}; expected one of: {', '.join(KINDS)}", field="kind")
    folder = Path(project_path) / "models" / version
    listed = [{"path": name, "sha256": sha256_file(folder / name)} for name in files]
    with write_transaction(db) as conn:
        cur = conn.execute(
            "INSERT INTO models (version, kind, parent, start, settings, label_snapshot, metrics, files, job_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                version,
                kind,
                parent,
                start,
                json.dumps(dict(settings), sort_keys=True, default=str),
                label_snapshot,
                json.dumps(dict(metrics), default=_json_number),
                json.dumps(listed),
                job_id,
                utc_now(),
            ),
        )
        model_id = int(cur.lastrowid or 0)
    return get(db, model_id)


def _json_number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def update_metrics(db: sqlite_utils.Database, model_id: int, **metrics: Any) -> ModelRecord:
    """Merge ``metrics`` into a model's stored metrics (e.g. the test-split AUC after scoring)."""
    record = get(db, model_id)
    merged = {**record.metrics, **metrics}
    db.conn.execute(
        "UPDATE models SET metrics = ? WHERE id = ?", (json.dumps(merged, default=_json_number), int(model_id))
    )
    return get(db, model_id)


def models(db: sqlite_utils.Database, kind: str | None = None) -> list[ModelRecord]:
    """Registered models, newest first."""
    sql, params = f"SELECT {_COLUMNS} FROM models", []
    if kind:
        sql, params = sql + " WHERE kind = ?", [kind]
    return [_record(r) for r in db.execute(sql + " ORDER BY id DESC", params).fetchall()]


def get(db: sqlite_utils.Database, model: int | str) -> ModelRecord:
    """A model by id or version; an InputError naming the known ones otherwise."""
    text = str(model).strip()
    row = db.execute(f"SELECT {_COLUMNS} FROM models WHERE version = ?", [text]).fetchone()
    if row is None and text.isdigit():
        row = db.execute(f"SELECT {_COLUMNS} FROM models WHERE id = ?", [int(text)]).fetchone()
    if row is None:
        known = ", ".join(r.version for r in models(db)[:8]) or "none yet: run `radcurate train`"
        raise InputError(f"no model {text!r} in this project (known: {known})", field="model")
    return _record(row)


def verified_file(record: ModelRecord, project_path: Path, name: str) -> Path:
    """The path of one of the model's files, after checking its sha256 against the registry."""
    for entry in record.files:
        if entry["path"] == name:
            path = record.folder(project_path) / name
            if not path.exists():
                raise InputError(f"model {record.version}: file is missing", path=path)
            if sha256_file(path) != entry["sha256"]:
                raise InputError(f"model {record.version}: file changed since training (sha256 mismatch)", path=path)
            return path
    raise InputError(f"model {record.version} has no file {name!r}", field="model")
