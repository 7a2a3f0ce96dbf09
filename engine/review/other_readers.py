"""What the other readers said, shown to a reader only after their own decision (a blind read).

A reader who sees a colleague's call first is anchored by it; one who sees it after deciding
learns where they disagree. So the review shows, per finding, the other readers' current
decisions only for the findings this reader has decided already: nothing before, everything
after. The model's score follows the same rule in the findings table (desktop/widgets/findings.py).
"""

from __future__ import annotations

import sqlite_utils

from radcurate.engine.store import decisions
from radcurate.engine.vocabulary import LabelState


def after_deciding(db: sqlite_utils.Database, study_id: str, reader: str) -> dict[str, dict[str, LabelState]]:
    """``{finding: {other reader: state}}`` for the findings ``reader`` has decided (undecided: absent)."""
    everyone = decisions.gold(db, study_id)
    mine = everyone.pop(reader, {})
    out: dict[str, dict[str, LabelState]] = {}
    for other in sorted(everyone):
        for finding, state in everyone[other].items():
            if finding in mine:
                out.setdefault(finding, {})[other] = state
    return out
