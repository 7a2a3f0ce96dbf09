"""The user guide's relative links and images point at files that exist, and every page is in the index."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

DOCS = REPO / "docs"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _targets(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code blocks are not links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_every_relative_link_and_image_resolves() -> None:
    broken = []
    for page in sorted(DOCS.rglob("*.md")):
        for target in _targets(page):
            path = target.split("#")[0]
            if path and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(REPO)} → {target}")
    assert not broken, broken


def test_every_page_is_linked_from_the_index() -> None:
    linked = {t.split("#")[0] for t in _targets(DOCS / "README.md")}
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert pages <= linked, sorted(pages - linked)


def test_the_guide_shows_every_screenshot() -> None:
    shown = {Path(t).name for p in DOCS.glob("*.md") for t in _targets(p) if t.startswith("images/")}
    assert {p.name for p in (DOCS / "images").glob("*.png")} <= shown
