"""The canvas text: a long study id or series name never sits under the top orientation letter."""

from __future__ import annotations

import pytest

from radcurate.desktop.viewer.overlays import HEADER_CLEAR_CHARS, CanvasAnnotations

pytestmark = pytest.mark.gui


@pytest.fixture
def annotations() -> CanvasAnnotations:
    from napari.components import ViewerModel

    return CanvasAnnotations(ViewerModel())


def test_a_long_header_pushes_the_top_letter_below_its_lines(annotations: CanvasAnnotations) -> None:
    uid = "1.2.826.0.1.3680043.8.498.10368904512345678901234567890"  # a StudyInstanceUID as study id
    assert len(uid) > HEADER_CLEAR_CHARS
    annotations.show(f"{uid}\nCHEST\naxial  slice 12/40", plane="axial")
    top = annotations.letters["top"].text
    assert top == "\n\n\nA"  # three header lines, then the letter: drawn below the id, not over it
    assert annotations.current().letters == ("A", "P", "R", "L")  # what the reader reads is unchanged
    assert annotations.current().header.startswith(uid)  # the whole id, never cut


def test_a_short_header_leaves_the_letter_at_the_edge(annotations: CanvasAnnotations) -> None:
    annotations.show("train_1_a_1\nCHEST\ncoronal", plane="coronal")
    assert annotations.letters["top"].text == "S" and annotations.letters["left"].text == "R"
    annotations.show("train_1_a_1\nCHEST\ncoronal", plane="coronal", loading="loading train_2_a_1")
    assert annotations.current().letters == ("", "", "", "")  # no letters over the "loading" notice
