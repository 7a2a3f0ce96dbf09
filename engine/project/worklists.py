"""The façade's worklist half: stored review priorities and the paged worklist (split from core.py).

Every read here first brings the stored priorities up to date (engine/review/priorities.py:
the bulk write paths refresh after their work; a decision only marks its study, so a reader's key
waits for nothing but its own commit), then reads through the
indexes of migration m010, so a 100k-study worklist page costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from radcurate.engine.review import consensus, priorities, worklist
from radcurate.engine.review.ranking import RankedStudy
from radcurate.engine.review.worklist import WorklistEntry, WorklistSnapshot
from radcurate.engine.vocabulary import Vocabulary


class WorklistMixin:
    """Review order for the CLI and the desktop, read from the stored priorities."""

    @property
    def db(self) -> sqlite_utils.Database:  # provided by Project
        raise NotImplementedError

    @property
    def vocabulary(self) -> Vocabulary:  # provided by Project
        raise NotImplementedError

    def refresh_priorities(self) -> int:
        """Recompute the stored priority of every study whose inputs changed; returns how many."""
        return priorities.refresh(self.db, self.vocabulary)

    def _unresolved(self) -> int:
        """How many (study, finding) readers disagree on, unadjudicated: stored, else computed now."""
        stored = priorities.unresolved_count(self.db, self.vocabulary)
        return len(consensus.unresolved(self.db)) if stored is None else stored

    def ranked_worklist(self, *, reader: str | None = None, limit: int | None = None) -> list[RankedStudy]:
        """``radcurate worklist``: the ranking's rows with their reasons, reviewed studies last."""
        return priorities.stored_rank(self.db, self.vocabulary, reader=reader, limit=limit)

    def worklist(self, *, reader: str) -> list[WorklistEntry]:
        """Studies with the reader's review status (engine/review/worklist.py), highest priority first.

        Priority is the review ranking (engine/review/ranking.py: silver vs model, extractors, doubts),
        as stored; import order until a model has scored the project.
        """
        self.refresh_priorities()
        stored = None
        if worklist.ranked(self.db):
            stored = dict(self.db.execute("SELECT study_id, priority FROM study_priority").fetchall())
        return worklist.worklist(self.db, reader=reader, findings=len(self.vocabulary), priorities=stored)

    def worklist_page(
        self, *, reader: str, offset: int = 0, limit: int = 100, statuses: Sequence[str] | None = None
    ) -> list[WorklistEntry]:
        """One page of the reader's worklist in review order, ``statuses`` only if given (indexed)."""
        self.refresh_priorities()
        return worklist.worklist_page(
            self.db, reader=reader, findings=len(self.vocabulary), offset=offset, limit=limit, statuses=statuses
        )

    def worklist_counts(self, *, reader: str) -> dict[str, int]:
        """Studies per status for the reader, and ``total``."""
        self.refresh_priorities()
        return worklist.worklist_counts(self.db, reader=reader, findings=len(self.vocabulary))

    def worklist_snapshot(self, *, reader: str) -> WorklistSnapshot:
        """The reader's whole worklist in review order, compact, entries built on demand (the desktop)."""
        self.refresh_priorities()
        return WorklistSnapshot(self.db, reader=reader, findings=len(self.vocabulary))
