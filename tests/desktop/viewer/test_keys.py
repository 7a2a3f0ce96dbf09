"""Driving the review app by real key presses on the napari canvas (offscreen: no image layer).

Each test checks the store through the engine API afterwards: exactly the decisions made, stamped
with the reader, with the audit trail (kinds, actions, undo links).
"""

from __future__ import annotations

from radcurate.desktop.viewer.keys import RESERVED_LETTERS, finding_keys, help_text, review_keymap
from radcurate.engine.vocabulary import LabelState
from tests.desktop.conftest import READER, press


def test_all_correct_case_costs_one_key(review_app) -> None:  # noqa: ANN001
    project, session = review_app.project, review_app.session
    first = session.study_id
    silver = {f: label.state for f, label in project.silver(first).items()}
    press(review_app.viewer, "Enter")
    assert project.gold(first, reader=READER) == silver
    trail = project.history(first)
    assert len(trail) == len(project.vocabulary) and {d.kind for d in trail} == {"confirm"}
    assert {d.reader for d in trail} == {READER} and len({d.action for d in trail}) == 1
    assert session.study_id == session.worklist[1].study_id


def test_one_wrong_label_costs_three_keys(review_app) -> None:  # noqa: ANN001
    """The finding's letter, its state, Enter."""
    project, session = review_app.project, review_app.session
    study = session.study_id
    letters = finding_keys(list(project.vocabulary))
    target = next(r for r in session.rows if r is not session.selected_row and r.silver_state != LabelState.ABSENT)
    press(review_app.viewer, letters[target.finding])
    assert session.selected_row is target
    press(review_app.viewer, "A", "Enter")
    gold = project.gold(study, reader=READER)
    assert gold[target.finding] == LabelState.ABSENT
    assert len(gold) == len(project.vocabulary)
    kinds = [d.kind for d in project.history(study)]
    assert kinds == ["decide"] + ["confirm"] * (len(project.vocabulary) - 1)


def test_every_finding_has_its_own_letter_that_selects_it(review_app) -> None:  # noqa: ANN001
    findings = list(review_app.project.vocabulary)
    letters = finding_keys(findings)
    assert sorted(letters) == sorted(findings) and len(set(letters.values())) == len(findings)
    assert not set(letters.values()) & RESERVED_LETTERS
    for finding, letter in letters.items():
        press(review_app.viewer, letter)
        assert review_app.session.selected_row.finding == finding
    press(review_app.viewer, "Home")
    assert review_app.session.selected == 0
    press(review_app.viewer, "End")
    assert review_app.session.selected == len(findings) - 1
    assert review_app.project.history() == []


def test_custom_vocabulary_letters_come_from_the_names() -> None:
    letters = finding_keys(["Pneumothorax", "Pleural effusion", "Rib fracture", "Pulmonary embolism"])
    assert letters["Rib fracture"] == "R"  # a word's initial when it is free
    assert all(letter in name.upper() for name, letter in letters.items())
    assert len(set(letters.values())) == 4 and not set(letters.values()) & RESERVED_LETTERS
    many = finding_keys([f"Finding {i}" for i in range(40)])
    assert len(many) == 26 - len(RESERVED_LETTERS)  # the rest are reached with the arrow keys


def test_state_keys_move_keys_and_undo(review_app) -> None:  # noqa: ANN001
    project, session = review_app.project, review_app.session
    study = session.study_id
    press(review_app.viewer, "Up", "Up", "Up", "Down")
    row = session.selected
    press(review_app.viewer, "P", "A", "U", "N")
    assert [d.state for d in project.history(study)] == [
        LabelState.PRESENT,
        LabelState.ABSENT,
        LabelState.UNCERTAIN,
        LabelState.NOT_MENTIONED,
    ]
    press(review_app.viewer, "Control-Z")
    assert session.rows[row].decision == LabelState.UNCERTAIN
    press(review_app.viewer, "Backspace", "Backspace", "Backspace")
    assert project.gold(study, reader=READER) == {}
    trail = project.history(study)
    assert [d.kind for d in trail] == ["decide"] * 4 + ["undo"] * 4
    assert [d.undoes for d in trail[4:]] == [d.id for d in reversed(trail[:4])]
    press(review_app.viewer, "Control-Z")  # nothing left to undo: no new row
    assert len(project.history(study)) == 8


def test_next_and_previous_case_keys(review_app) -> None:  # noqa: ANN001
    session = review_app.session
    ids = [e.study_id for e in session.worklist]
    press(review_app.viewer, "PageDown", "PageDown")
    assert session.study_id == ids[2]
    press(review_app.viewer, "PageUp")
    assert session.study_id == ids[1]
    assert review_app.project.history() == []  # moving records nothing


def test_saved_log_lines_follow_the_commit(phantom_project, viewer, tmp_path) -> None:  # noqa: ANN001
    from radcurate.desktop.app import ReviewApp

    log = tmp_path / "saved.log"
    app = ReviewApp(viewer, phantom_project, READER, show_volumes=False, poll_jobs=False, saved_log=log)
    app.start()
    press(viewer, "P", "Enter")
    app.close()
    ids = [int(line.split()[1].lstrip("#")) for line in log.read_text().splitlines()]
    assert ids == [d.id for d in phantom_project.history()]
    assert viewer.status.startswith("saved #")


def test_help_lists_every_key_and_toggles(review_app) -> None:  # noqa: ANN001
    text = help_text(list(review_app.project.vocabulary))
    for entry in review_keymap(list(review_app.project.vocabulary)):
        for key in entry.keys:
            pretty = key.replace("Control-", "Ctrl+").replace("Shift-", "Shift+")
            assert pretty in text, key
        assert entry.help in text
    assert not review_app.help.isVisible()
    review_app.viewer.window._qt_window.show()
    press(review_app.viewer, "H")
    assert review_app.help.isVisible() and "Enter" in review_app.help.text()
    assert "select Pleural effusion" in review_app.help.text()
    press(review_app.viewer, "F1")
    assert not review_app.help.isVisible()


def test_keys_are_bound_with_overwrite_and_unbound_on_close(viewer, phantom_project) -> None:  # noqa: ANN001
    from napari.utils.key_bindings import coerce_keybinding

    from radcurate.desktop.app import ReviewApp

    before = dict(viewer.keymap)
    app = ReviewApp(viewer, phantom_project, READER, show_volumes=False, poll_jobs=False)
    bound = {coerce_keybinding(k) for entry in review_keymap(list(phantom_project.vocabulary)) for k in entry.keys}
    assert bound <= set(viewer.keymap)
    app.close()
    assert dict(viewer.keymap) == before
    press(viewer, "Enter")
    assert phantom_project.history() == []


def test_an_engine_error_is_shown_not_saved(review_app, monkeypatch) -> None:  # noqa: ANN001
    from radcurate.engine.errors import StoreError

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003
        raise StoreError("database is locked")

    monkeypatch.setattr(review_app.project, "decide", refuse)
    press(review_app.viewer, "P")
    assert review_app.viewer.status.startswith("NOT SAVED")
    assert all(r.decision is None for r in review_app.session.rows)
