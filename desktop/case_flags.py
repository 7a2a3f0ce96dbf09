"""Flag and skip a case from the keyboard (Qt-free, beside the session).

Shift+F flags the open case for another look (again: clears the flag); Shift+PageDown skips it:
the skip is recorded (who, when) and the next unfinished case opens. Both go through the
engine (``Project.flag_case`` / ``Project.skip_case``, engine/store/case_flags.py): committed
before the reader is told, append-only like decisions. A ``flag`` session event carries the
open case's flag state for the docks (the findings dock's summary line says "⚑ flagged").
"""

from __future__ import annotations

from radcurate.desktop.session import ReviewSession, SessionEvent


class CaseFlagKeys:
    """The reader's flag on the open case, and the flag and skip keys' actions."""

    def __init__(self, session: ReviewSession):
        self.session = session
        self.flagged = False
        self.note = ""
        self._unsubscribe = session.subscribe(self._on_session)

    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "case":
            self._load()

    def _load(self) -> None:
        s = self.session
        flags = s.project.case_flags(s.study_id, reader=s.reader) if s.study_id else []
        self.flagged = bool(flags)
        self.note = (flags[-1].note or "") if flags else ""
        s.announce("flag", "")

    def toggle(self, note: str | None = None) -> None:
        """Flag the open case, or clear the reader's flag on it; says so once it is committed."""
        s = self.session
        if s.study_id is None:
            s.announce("message", "no case open")
            return
        made = s.project.flag_case(s.study_id, reader=s.reader, note=note, flagged=not self.flagged)
        self.flagged, self.note = made.action == "flag", made.note or ""
        s.announce("flag", f"⚑ {s.study_id} flagged (#{made.id})" if self.flagged else f"{s.study_id}: flag cleared")
        s.announce("message", f"saved #{made.id}: {s.study_id} {'flagged' if self.flagged else 'unflagged'}")

    def skip(self, note: str | None = None) -> bool:
        """Record the skip, then open the next unfinished case (wrapping to the first)."""
        s = self.session
        if s.study_id is None:
            s.announce("message", "no case open")
            return False
        skipped = s.study_id
        made = s.project.skip_case(skipped, reader=s.reader, note=note)
        moved = s.next_open_case()
        if moved:
            s.announce("message", f"saved #{made.id}: {skipped} skipped")
        return moved

    def remove(self) -> None:
        self._unsubscribe()
