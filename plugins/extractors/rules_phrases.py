"""How each finding is phrased in reports: the synonym file format, its loading and compilation.

Synonym file (TOML, UTF-8). One table per finding, keyed by the finding's name as the vocabulary
spells it (matched case-insensitively)::

    [findings."Pleural effusion"]
    synonyms = ["pleural effusion", "effusion", "hydrothorax"]   # plain phrases
    patterns = ['fluid\\s+in\\s+the\\s+pleural\\s+space']      # Python regexes (optional)
    exclude = ["pericardial effusion"]          # a mention inside one of these is not this finding
    exclude_patterns = []                        # the same, as regexes
    absent_when = ["lungs are clear"]            # phrases that state the finding is absent
    absent_patterns = []                         # the same, as regexes
    replace = false                              # true: drop the built-in phrasing for this finding

Phrases are matched case-insensitively on word boundaries; a space or hyphen between words
matches any run of spaces and hyphens (``ground glass`` finds ``ground-glass``); the last word
also matches its simple plural (``nodule`` → ``nodules``, ``opacity`` → ``opacities``,
``atelectasis`` → ``atelectases``, ``bulla`` → ``bullae``); a word ending in ``*`` matches any
ending (``emphysemat*``). Regexes are compiled with :data:`re.IGNORECASE`; keep them inside one
sentence (``[^.;]{0,40}`` rather than ``.*``), since evidence is quoted by sentence.

Every finding also matches its own name, so a vocabulary works without any synonym file. A
project's file adds to the built-in phrasing (``rules_synonyms.toml`` beside this module) for
findings of the same name unless ``replace = true``; tables for findings outside the project's
vocabulary are ignored, so one file can serve several projects.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radcurate.engine.errors import InputError

BUILTIN_SYNONYMS = Path(__file__).with_name("rules_synonyms.toml")

_LIST_KEYS = ("synonyms", "patterns", "exclude", "exclude_patterns", "absent_when", "absent_patterns")


@dataclass
class PhraseEntry:
    """The raw phrasing of one finding, as read from one or more synonym files."""

    synonyms: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    exclude_patterns: list[str] = field(default_factory=list)
    absent_when: list[str] = field(default_factory=list)
    absent_patterns: list[str] = field(default_factory=list)

    def extend(self, other: PhraseEntry) -> None:
        for key in _LIST_KEYS:
            getattr(self, key).extend(getattr(other, key))


@dataclass(frozen=True)
class CompiledFinding:
    """One finding's phrasing, compiled: what names it, what only looks like it, what denies it."""

    finding: str
    mention: re.Pattern[str]
    exclude: re.Pattern[str] | None
    absent: re.Pattern[str] | None


def _word(word: str, last: bool) -> str:
    if word.endswith("*"):
        return re.escape(word[:-1]) + r"\w*"
    if not last or not word[-1:].isalpha():
        return re.escape(word)
    low = word.lower()
    for ending, plural in (("is", "(?:is|es)"), ("um", "(?:um|a)"), ("us", "(?:us|i)"), ("a", "(?:a|ae|as)")):
        if low.endswith(ending):
            return re.escape(word[: -len(ending)]) + plural
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "o", "u"):
        return re.escape(word[:-1]) + "(?:y|ies)"
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return re.escape(word) + "(?:es)?"
    return re.escape(word) + "s?"


def phrase_regex(phrase: str) -> str:
    """Regex source for a plain phrase: word boundaries, flexible spacing, simple plural."""
    words = [w for w in re.split(r"[\s\-]+", phrase.strip()) if w]
    if not words:
        raise ValueError("empty phrase")
    body = r"[\s\-]+".join(_word(w, i == len(words) - 1) for i, w in enumerate(words))
    left = r"\b" if words[0][0].isalnum() else ""
    right = r"\b" if words[-1][-1].isalnum() or words[-1].endswith("*") else ""
    return left + body + right


def read_synonym_file(path: str | Path) -> dict[str, tuple[PhraseEntry, bool]]:
    """Read a synonym file into {finding name (casefolded): (entry, replace)}; InputError if bad."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read synonym file ({exc.strerror or exc})", path=path) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("synonym file is not UTF-8 text", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML ({exc})", path=path) from None
    tables = data.get("findings")
    if not isinstance(tables, dict):
        raise InputError("expected [findings.\"<finding name>\"] tables", path=path, field="findings")
    out: dict[str, tuple[PhraseEntry, bool]] = {}
    for name, table in tables.items():
        out[name.strip().casefold()] = _entry(path, name, table)
    return out


def _entry(path: Path, name: str, table: Any) -> tuple[PhraseEntry, bool]:
    where = f'findings."{name}"'
    if not isinstance(table, dict):
        raise InputError("expected a table of phrase lists", path=path, field=where)
    unknown = sorted(set(table) - set(_LIST_KEYS) - {"replace"})
    if unknown:
        allowed = ", ".join((*_LIST_KEYS, "replace"))
        raise InputError(f"unknown key(s) {', '.join(unknown)}; allowed: {allowed}", path=path, field=where)
    replace = table.get("replace", False)
    if not isinstance(replace, bool):
        raise InputError("expected true or false", path=path, field=f"{where}.replace")
    entry = PhraseEntry()
    for key in _LIST_KEYS:
        values = table.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise InputError("expected a list of non-empty strings", path=path, field=f"{where}.{key}")
        for value in values:
            _check(path, f"{where}.{key}", value, is_regex=key.endswith("patterns"))
        getattr(entry, key).extend(values)
    return entry, replace


def _check(path: Path, where: str, value: str, *, is_regex: bool) -> None:
    try:
        re.compile(value if is_regex else phrase_regex(value))
    except (re.error, ValueError) as exc:
        raise InputError(f"invalid {'regex' if is_regex else 'phrase'} {value!r} ({exc})", path=path, field=where) from None


def _alternation(phrases: list[str], patterns: list[str]) -> re.Pattern[str] | None:
    sources = [phrase_regex(p) for p in phrases] + [f"(?:{p})" for p in patterns]
    if not sources:
        return None
    # longer alternatives first, so "pleural effusion" wins over "effusion" at the same position
    sources = sorted(dict.fromkeys(sources), key=len, reverse=True)
    return re.compile("|".join(sources), re.IGNORECASE)


def compile_findings(findings: tuple[str, ...], files: list[Path]) -> list[CompiledFinding]:
    """Compile the phrasing of ``findings`` from the synonym ``files`` (later files add or replace)."""
    entries: dict[str, PhraseEntry] = {f.casefold(): PhraseEntry(synonyms=[f]) for f in findings}
    for path in files:
        for key, (entry, replace) in read_synonym_file(path).items():
            if key not in entries:
                continue
            if replace:
                entries[key] = PhraseEntry(synonyms=[next(f for f in findings if f.casefold() == key)])
            entries[key].extend(entry)
    compiled = []
    for name in findings:
        entry = entries[name.casefold()]
        mention = _alternation(entry.synonyms, entry.patterns)
        assert mention is not None  # the finding's own name is always there
        compiled.append(
            CompiledFinding(
                finding=name,
                mention=mention,
                exclude=_alternation(entry.exclude, entry.exclude_patterns),
                absent=_alternation(entry.absent_when, entry.absent_patterns),
            )
        )
    return compiled
