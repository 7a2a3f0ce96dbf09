"""The façade's case flags (engine/store/case_flags.py): flag, unflag and skip a case, as a reader."""

from __future__ import annotations

import sqlite_utils

from radcurate.engine.store import case_flags
from radcurate.engine.store.case_flags import CaseFlag


class CaseFlagsMixin:
    """Readers' flags on cases: append-only, committed before the call returns."""

    @property
    def db(self) -> sqlite_utils.Database:  # provided by Project
        raise NotImplementedError

    def flag_case(self, study_id: str, *, reader: str, note: str | None = None, flagged: bool = True) -> CaseFlag:
        """Flag the case for another look (``flagged=False`` clears the reader's flag)."""
        return case_flags.record(self.db, study_id, reader=reader, action="flag" if flagged else "unflag", note=note)

    def skip_case(self, study_id: str, *, reader: str, note: str | None = None) -> CaseFlag:
        """Record that the reader left the case for now (and why, in ``note``)."""
        return case_flags.record(self.db, study_id, reader=reader, action="skip", note=note)

    def case_flags(self, study_id: str | None = None, *, reader: str | None = None) -> list[CaseFlag]:
        """The flags that hold now, oldest first (every reader's unless ``reader``)."""
        return case_flags.flagged(self.db, study_id=study_id, reader=reader)

    def case_flag_history(self, study_id: str | None = None) -> list[CaseFlag]:
        """Every flag, unflag and skip, oldest first."""
        return case_flags.history(self.db, study_id)
