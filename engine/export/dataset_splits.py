"""Patient-level splits and stable pseudonyms for a curated dataset export.

A split is drawn over *patients*, never studies: all studies of one patient land in the same
split, so a model evaluated on the test split has never seen that patient. Patients are shuffled
with the seed and each goes to the split furthest below its target share of studies, which hits
the fractions closely even when patients have several studies.

Pseudonyms are keyed hashes (HMAC-SHA256) of the original ids: stable across exports of the same
project (the key lives in the project folder, or comes from ``RADCURATE_PSEUDONYM_KEY``), not
reversible without the key, and the key never travels with the export.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from radcurate.engine.errors import InputError

SPLIT_NAMES = ("training", "validation", "test")
KEY_ENV = "RADCURATE_PSEUDONYM_KEY"
KEY_FILE = ".pseudonym-key"


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` → fractions of training, validation, test (they must sum to 1)."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise InputError(f"--splits must be three numbers like 0.8,0.1,0.1, got {text!r}", field="splits") from None
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1.0) > 1e-6:
        raise InputError(f"--splits must be three fractions ≥ 0 that sum to 1, got {text!r}", field="splits")
    return parts  # type: ignore[return-value]


RECORDED = {"train": "training", "val": "validation", "test": "test"}


def recorded_split(db: Any) -> dict[str, str]:
    """``{study: split}`` of the split training recorded for the project (m005 ``splits``), if any:
    exporting the same split keeps a model's test studies out of the dataset's training split."""
    if not db["splits"].exists():
        return {}
    return {s: RECORDED[v] for s, v in db.execute("SELECT study_id, split FROM splits").fetchall() if v in RECORDED}


def patient_split(
    patients: Mapping[str, str], fractions: Sequence[float], seed: int, fixed: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``{study: split}`` from ``{study: patient}``; every study of a patient shares one split.

    ``fixed`` (``{study: split}``, e.g. the project's recorded split) is kept; a patient with a
    fixed study puts all their studies there; the other patients are drawn to the fractions.
    """
    studies_of: dict[str, list[str]] = {}
    for study, patient in patients.items():
        studies_of.setdefault(patient, []).append(study)
    fixed = fixed or {}
    out: dict[str, str] = {}
    counts = [0, 0, 0]
    for group in studies_of.values():
        known = [fixed[s] for s in group if s in fixed]
        if known:
            for study in group:
                out[study] = known[0]
            counts[SPLIT_NAMES.index(known[0])] += len(group)
    order = sorted(p for p in studies_of if studies_of[p][0] not in out)
    rng = np.random.default_rng(seed)
    shuffled = [order[i] for i in rng.permutation(len(order))]
    total = len(patients)
    for patient in shuffled:
        n = len(studies_of[patient])
        # the split furthest below its target share; a split with target 0 never takes anyone
        deficits = [(fractions[i] * total - counts[i]) if fractions[i] > 0 else -np.inf for i in range(3)]
        chosen = int(np.argmax(deficits))
        counts[chosen] += n
        for study in studies_of[patient]:
            out[study] = SPLIT_NAMES[chosen]
    return out


def pseudonym_key(project_path: Path) -> bytes:
    """The project's pseudonym key: ``RADCURATE_PSEUDONYM_KEY`` if set, else a random key kept in
    ``exports/.pseudonym-key`` (made on first use, readable by the owner only)."""
    given = os.environ.get(KEY_ENV)
    if given:
        return given.encode()
    path = Path(project_path) / "exports" / KEY_FILE
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """A stable pseudonym: ``S`` (study) or ``P`` (patient) + 12 hex digits of HMAC-SHA256."""
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:12]
    return f"{'S' if kind == 'study' else 'P'}{digest}"
