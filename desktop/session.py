"""The review session: what the reader is looking at and what each keystroke does (Qt-free).

Like napari's ``components/`` (models) beside ``_qt/`` (views), this module holds the state and the
rules, and knows nothing of Qt or napari: the widgets draw it, the key bindings call it, and tests
drive it directly. Every decision goes through :class:`~radcurate.engine.project.Project`, which
returns only after the COMMIT; the session updates what it shows (and tells its listeners
``"saved"``) only after that return, so nothing is ever displayed as saved that is not on disk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from radcurate.engine.contracts.labels import Decision, SilverLabel
from radcurate.engine.project import Project
from radcurate.engine.review.worklist import WorklistEntry, WorklistSnapshot, status_for
from radcurate.engine.vocabulary import LabelState


@dataclass
class FindingRow:
    """One finding of the open case: the silver label shown, the model score, the reader's decision."""

    finding: str
    silver: SilverLabel | None = None
    source: str | None = None
    score: float | None = None
    decision: LabelState | None = None
    decision_id: int | None = None
    others: dict[str, LabelState] = field(default_factory=dict)  # other readers, once this one decided

    @property
    def silver_state(self) -> LabelState | None:
        return self.silver.state if self.silver is not None else None


@dataclass(frozen=True)
class SessionEvent:
    """What changed: ``worklist`` (reloaded or refiltered), ``entry`` (one study's status; its id
    in ``study_id``), ``case`` (another study opened), ``rows`` (decisions shown), ``selection``,
    ``saved`` (decisions committed) or ``message``."""

    kind: str
    decisions: tuple[Decision, ...] = ()
    message: str = ""
    study_id: str | None = None


Listener = Callable[[SessionEvent], None]


@dataclass
class ReviewSession:
    """One reader reviewing one project. All methods run on the caller's thread (the UI thread).

    Parameters
    ----------
    project
        The open project; the only thing the session talks to.
    reader
        The reader's name, stamped on every decision.
    status_filter
        Worklist statuses to navigate through (``None``: all).
    blocked
        Asked before every decision: a reason to refuse it (the app: "the image of this case is
        still loading"), or None. A refused decision writes nothing and says why.
    series_id
        The series on screen, stamped on each decision (None: the engine's default, the study's
        only series).
    """

    project: Project
    reader: str
    status_filter: frozenset[str] | None = None
    study_id: str | None = None
    report_text: str = ""
    rows: list[FindingRow] = field(default_factory=list)
    selected: int = 0
    blocked: Callable[[], str | None] | None = None
    series_id: str | None = None
    _worklist: Sequence[WorklistEntry] = field(default_factory=list)  # a WorklistSnapshot once loaded
    _listeners: list[Listener] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reader = (self.reader or "").strip()
        if not self.reader:
            raise ValueError("a review session needs a reader name")

    # ------------------------------------------------------------------ events
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(
        self, kind: str, decisions: Sequence[Decision] = (), message: str = "", study_id: str | None = None
    ) -> None:
        event = SessionEvent(kind, tuple(decisions), message, study_id)
        for listener in list(self._listeners):
            listener(event)

    def _say(self, message: str) -> None:
        self._emit("message", message=message)

    def announce(self, kind: str, message: str = "") -> None:
        """Tell the listeners (a helper beside the session: desktop/case_flags.py's ``flag`` event)."""
        self._emit(kind, message=message)

    # ------------------------------------------------------------------ worklist
    def refresh_worklist(self) -> Sequence[WorklistEntry]:
        """Reload the reader's worklist from the store, highest priority first (import order until a
        model has scored the project). A compact snapshot (engine/review/worklist.py): 100k studies
        load in one indexed read, and an entry is built only when asked for."""
        self._worklist = self.project.worklist_snapshot(reader=self.reader)
        self._emit("worklist")
        return self._worklist

    @property
    def worklist(self) -> Sequence[WorklistEntry]:
        """The whole worklist in order (read-only; entries are built as they are read)."""
        return self._worklist

    @property
    def ranked(self) -> bool:
        """True when the order comes from model scores, False when it is import order."""
        return isinstance(self._worklist, WorklistSnapshot) and self._worklist.ranked

    def counts(self) -> dict[str, int]:
        """Studies per status (``unreviewed``, ``in_progress``, ``done``) and ``total``."""
        if isinstance(self._worklist, WorklistSnapshot):
            return self._worklist.counts()
        return {"unreviewed": 0, "in_progress": 0, "done": 0, "total": 0}

    def set_status_filter(self, statuses: Sequence[str] | None) -> None:
        self.status_filter = frozenset(statuses) if statuses else None
        self._emit("worklist")

    def visible(self) -> list[WorklistEntry]:
        """The worklist as filtered for navigation and display."""
        return [self._worklist[i] for i in self.visible_rows()]

    def visible_rows(self) -> Sequence[int]:
        """Indices into :attr:`worklist` of the studies the filter shows, in order (no entry built)."""
        if self.status_filter is None:
            return range(len(self._worklist))
        return [i for i in range(len(self._worklist)) if self._status(i) in self.status_filter]

    def _status(self, i: int) -> str:
        return self._worklist.status(i) if isinstance(self._worklist, WorklistSnapshot) else self._worklist[i].status

    def _passes_at(self, i: int, *, open_only: bool = False) -> bool:
        status = self._status(i)
        return (self.status_filter is None or status in self.status_filter) and not (open_only and status == "done")

    def worklist_index(self, study_id: str | None) -> int:
        """Where the study is in :attr:`worklist` (-1: not in it)."""
        return self._index_of(study_id)

    def _index_of(self, study_id: str | None) -> int:
        return self._worklist.index_of(study_id) if isinstance(self._worklist, WorklistSnapshot) else -1

    def entry(self, study_id: str) -> WorklistEntry | None:
        i = self._index_of(study_id)
        return self._worklist[i] if i >= 0 else None

    def _neighbour(self, step: int, *, open_only: bool = False) -> str | None:
        start = self._index_of(self.study_id)
        i = start + step if start >= 0 else (0 if step > 0 else len(self._worklist) - 1)
        while 0 <= i < len(self._worklist):
            if self._passes_at(i, open_only=open_only):
                return self._worklist[i].study_id
            i += step
        return None

    def upcoming_study(self) -> str | None:
        """The case the reader most likely opens next (what the app prefetches)."""
        return self._next_open() or self._neighbour(+1)

    # ------------------------------------------------------------------ cases
    def open_case(self, study_id: str) -> None:
        """Show a study: its report, one row per finding, the reader's decisions so far."""
        report = self.project.report(study_id)
        silver, source = self._silver(study_id)
        scores = self.project.scores(study_id)
        gold = self.project.gold(study_id, reader=self.reader)
        self.study_id = study_id
        self.series_id = None  # until the app shows one of the study's series
        self.report_text = report.text if report is not None else ""
        self.rows = [
            FindingRow(f, silver.get(f), source if f in silver else None, scores.get(f), gold.get(f))
            for f in self.project.vocabulary
        ]
        self._show_others()
        self.selected = self._first_worth_a_look()
        self._emit("case")
        self._emit("selection")

    def _show_others(self) -> None:
        """Other readers' decisions on the findings this reader has decided (engine: blind before)."""
        if self.study_id is None:
            return
        others = self.project.other_readers(self.study_id, reader=self.reader)
        for row in self.rows:
            row.others = others.get(row.finding, {}) if row.decision is not None else {}

    def _silver(self, study_id: str) -> tuple[dict[str, SilverLabel], str | None]:
        """The labels shown and their source: the engine's one rule (engine/review/silver.py)."""
        return self.project.shown_silver(study_id)

    def _first_worth_a_look(self) -> int:
        for i, row in enumerate(self.rows):
            if row.decision is None and row.silver_state in (LabelState.PRESENT, LabelState.UNCERTAIN):
                return i
        return 0

    def next_case(self) -> bool:
        """Open the next study in the (filtered) worklist; False at the end."""
        return self._go(self._neighbour(+1), "end of the worklist")

    def previous_case(self) -> bool:
        return self._go(self._neighbour(-1), "start of the worklist")

    def next_open_case(self) -> bool:
        """Open the next study the reader has not finished (what confirming a case moves to),
        wrapping to the first unfinished one from the top."""
        return self._go(self._next_open(), "every case in this worklist is done")

    def _next_open(self) -> str | None:
        after = self._neighbour(+1, open_only=True)
        if after is not None:
            return after
        first_row = next((i for i in range(len(self._worklist)) if self._passes_at(i, open_only=True)), None)
        first = self._worklist[first_row].study_id if first_row is not None else None
        return first if first != self.study_id else None

    def _go(self, study_id: str | None, at_edge: str) -> bool:
        if study_id is None:
            self._say(at_edge)
            return False
        self.open_case(study_id)
        return True

    # ------------------------------------------------------------------ findings
    @property
    def selected_row(self) -> FindingRow | None:
        return self.rows[self.selected] if 0 <= self.selected < len(self.rows) else None

    def select(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(len(self.rows) - 1, index))
        if index != self.selected:
            self.selected = index
            self._emit("selection")

    def move(self, step: int) -> None:
        """Up/down between findings."""
        self.select(self.selected + step)

    def select_finding(self, finding: str) -> None:
        """Select a finding by name (its letter key)."""
        for i, row in enumerate(self.rows):
            if row.finding == finding:
                self.select(i)
                return

    # ------------------------------------------------------------------ decisions
    def decide(self, state: LabelState | str) -> Decision | None:
        """Record the reader's state for the selected finding; returns after the COMMIT."""
        row = self.selected_row
        if self.study_id is None or row is None:
            self._say("no case open")
            return None
        if self._refused():
            return None
        decision = self.project.decide(self.study_id, row.finding, state, reader=self.reader, series_id=self.series_id)
        self._apply([decision])
        return decision

    def _refused(self) -> bool:
        reason = self.blocked() if self.blocked is not None else None
        if reason:
            self._say(f"NOT SAVED — {reason}")
        return bool(reason)

    def note(self, text: str) -> Decision | None:
        """Record the selected finding's decision again with a note (its state: the reader's, else the shown one)."""
        row = self.selected_row
        text = text.strip()
        if self.study_id is None or row is None or not text:
            return None
        state = row.decision or row.silver_state
        if state is None:
            self._say(f"decide {row.finding} first: a note goes with a decision")
            return None
        if self._refused():
            return None
        decision = self.project.decide(
            self.study_id, row.finding, state, reader=self.reader, note=text, series_id=self.series_id
        )
        self._apply([decision])
        return decision

    def not_mentioned_rest(self) -> list[Decision]:
        """Every undecided finding without a silver label is "not mentioned" (one action).

        For a study with no report (or no labels): the reader looked and the report says nothing.
        """
        if self.study_id is None:
            self._say("no case open")
            return []
        if self._refused():
            return []
        blank = {r.finding: LabelState.NOT_MENTIONED for r in self.rows if r.decision is None and r.silver is None}
        if not blank:
            self._say("no undecided finding without a label")
            return []
        made = self.project.confirm(self.study_id, blank, reader=self.reader, series_id=self.series_id)
        self._apply(made)
        return made

    def confirm_case(self, *, advance: bool = True) -> list[Decision]:
        """Record the shown (silver) state of every undecided finding, then open the next open case.

        Findings without a silver label are left undecided (there is nothing shown to confirm)
        and the reader is told which.
        """
        if self.study_id is None:
            self._say("no case open")
            return []
        if self._refused():
            return []
        shown = {r.finding: r.silver_state for r in self.rows if r.decision is None and r.silver_state is not None}
        blank = [r.finding for r in self.rows if r.decision is None and r.silver_state is None]
        made = self.project.confirm(self.study_id, shown, reader=self.reader, series_id=self.series_id) if shown else []
        self._apply(made)
        if blank:
            self._say(f"{len(blank)} finding(s) have no silver label; decide them: {', '.join(blank)}")
            return made
        if advance:
            self.next_open_case()
        return made

    def undo(self) -> list[Decision]:
        """Revert the reader's latest action (a new, audited action) and show where it happened."""
        if self._refused():
            return []
        undone = self.project.undo(reader=self.reader)
        if not undone:
            self._say("nothing to undo")
            return []
        study = undone[0].study_id
        if study != self.study_id:
            self.open_case(study)
            self._apply(undone, refresh_rows=False)
        else:
            self._apply(undone)
        names = [r.finding for r in self.rows]
        if len(undone) == 1 and undone[0].finding in names:
            self.select(names.index(undone[0].finding))
        return undone

    def _apply(self, made: Sequence[Decision], *, refresh_rows: bool = True) -> None:
        """Show committed decisions (called only after the project returned them).

        ``saved`` goes out first (the log line, the status message), then the row and worklist
        refreshes: all of it after the COMMIT, so nothing is shown as saved that is not stored.
        """
        if not made:
            return
        by_finding = {r.finding: r for r in self.rows}
        for d in made:
            row = by_finding.get(d.finding)
            if row is not None and d.study_id == self.study_id:
                row.decision, row.decision_id = d.state, d.id
        self._emit("saved", made, self._saved_message(made))
        self._show_others()  # after "saved": the commit is what the reader waits for
        self._update_entry()
        if refresh_rows:
            self._emit("rows")

    def _saved_message(self, made: Sequence[Decision]) -> str:
        first = made[0]
        if first.kind == "undo":
            return f"undone: {len(made)} decision(s) reverted (saved #{made[-1].id})"
        if len(made) == 1:
            return f"saved #{first.id}: {first.finding} → {first.state}"
        return f"saved #{first.id}–#{made[-1].id}: {len(made)} findings confirmed"

    def _update_entry(self) -> None:
        i = self._index_of(self.study_id)
        if i < 0:
            return
        decided = sum(r.decision is not None for r in self.rows)
        status = status_for(decided, len(self.rows))
        entry = self._worklist[i]
        if (entry.decided, entry.status) != (decided, status) and isinstance(self._worklist, WorklistSnapshot):
            self._worklist.set_decided(entry.study_id, decided)
            self._emit("entry", study_id=self.study_id)
