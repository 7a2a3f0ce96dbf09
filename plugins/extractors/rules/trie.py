"""Alternations of many literal phrases compiled as a trie, so Python's ``re`` scans them fast.

Why: ``re`` tries the alternatives of ``a|b|c`` one after the other at every position. With a few
hundred synonyms that is the whole cost of extraction. Factoring common prefixes
(``s(?:tent|ternal wire)``) lets the engine reject a position after one character comparison per
distinct first letter, which is what makes thousands of reports per second possible on one core.
Input text is expected lower-cased (ASCII case folding that keeps offsets, see :func:`lower`), so
the patterns are compiled without ``re.IGNORECASE``, which would disable that fast path.
:func:`literal_prefixes` finds the literal text a hand-written regex must start with, so the
same scan can tell where that regex is worth trying.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

try:  # the regex parser is private; without it patterns simply run on every report
    from re import _constants as _sre  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Python versions
    _sre = _sre_parse = None  # type: ignore[assignment]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower(text: str) -> str:
    """Lower-case ``text`` keeping every character at its offset (``str.lower`` may not: ``İ``)."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def trie_regex(sequences: Iterable[Sequence[str]]) -> str:
    """Regex source matching any of ``sequences``, each a sequence of regex atoms.

    Atoms are compared as strings when merging prefixes, so a literal character and a character
    class are different atoms. A sequence that is a prefix of another becomes an optional tail;
    the engine's greedy choice then prefers the longer phrase at a given position.
    """
    root: dict[str, dict] = {}
    for seq in sequences:
        node = root
        for atom in seq:
            node = node.setdefault(atom, {})
        node[""] = {}
    return _emit(root)


def _emit(node: dict[str, dict]) -> str:
    ends_here = "" in node
    branches = [atom + _emit(child) for atom, child in node.items() if atom != ""]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return body + "?" if len(branches) == 1 and _is_single(branches[0]) else "(?:" + body + ")?"
    return body


def _is_single(atom: str) -> bool:
    return len(atom) == 1 and atom.isalnum()


def literal_atoms(word: str) -> list[str]:
    """A literal word as regex atoms, one per character."""
    return [re.escape(ch) for ch in word]


def literal_prefixes(source: str, min_length: int = 3) -> frozenset[str] | None:
    """Literal texts of at least ``min_length`` characters that every match of ``source`` starts with.

    ``(?:atheroma\\w*|plaques?)\\b...`` gives ``{"atheroma", "plaque"}``: a report containing
    neither cannot match, so the regex need not run (a substring test is far cheaper than a regex
    scan). None when no such set exists (a leading ``\\w`` or ``[...]``) or cannot be worked out.
    """
    if _sre_parse is None:
        return None
    try:
        found = _prefixes(list(_sre_parse.parse(source)), min_length)
    except Exception:  # noqa: BLE001 - any surprise from a private API just disables the shortcut
        return None
    return frozenset(found) if found else None


def _prefixes(items: list, min_length: int) -> set[str] | None:
    prefix = ""
    for op, av in items:
        if op is _sre.LITERAL:
            prefix += chr(av)
            continue
        if not prefix and (op is _sre.AT or op in (_sre.ASSERT, _sre.ASSERT_NOT)):
            continue  # zero-width at the start: the match still begins with what follows
        inner: list[list] | None = None
        if op is _sre.SUBPATTERN:
            inner = [list(av[-1])]
        elif op is _sre.BRANCH:
            inner = [list(alt) for alt in av[1]]
        if inner is not None:
            tails: set[str] = set()
            for alt in inner:
                got = _prefixes(alt, max(1, min_length - len(prefix)))
                if got is None:
                    break
                tails |= got
            else:
                return {prefix + t for t in tails}
        break
    return {prefix} if len(prefix) >= min_length else None
