"""Which silver label a reader is shown for a study: one rule, used by the desktop, the CLI and training.

The shown source is the most recently run extractor source that has current labels (made from the
report text as it is now) for the study. Reference sources (labels imported from a file, such as
CT-RATE's) are kept for agreement and never shown as the silver label to confirm.
"""

from __future__ import annotations

import sqlite_utils

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.store import labels as label_store


def shown_source(db: sqlite_utils.Database, study_id: str) -> str | None:
    """The label source shown for ``study_id`` (``None``: no extractor has labelled its current text)."""
    return label_store.latest_extractor_source(db, study_id)


def shown_silver(db: sqlite_utils.Database, study_id: str) -> tuple[dict[str, SilverLabel], str | None]:
    """(the study's shown labels by finding in vocabulary order, their source); ``({}, None)`` if none."""
    source = shown_source(db, study_id)
    if source is None:
        return {}, None
    return label_store.labels_for(db, study_id, source), source


def shown_states(db: sqlite_utils.Database) -> dict[str, tuple[str, dict[str, str]]]:
    """Every study's shown silver states at once: ``{study: (source, {finding: state})}``.

    One query per extractor source instead of one per study, so training and ranking over a whole
    project stay fast; the per-study choice is the same as :func:`shown_source`.
    """
    order = [s.name for s in label_store.sources(db, kind="extractor")]  # most recently run first
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for source in order:
        for study_id, states in label_store.states_by_study(db, source).items():
            if study_id not in out:
                out[study_id] = (source, {f: s.value for f, s in states.items()})
    return out
