"""How each finding is phrased in reports: the synonym file format, reading it, phrase regexes.

Synonym file (TOML, UTF-8). One table per finding, keyed by the finding's name as the vocabulary
spells it (matched case-insensitively); every key is optional::

    [findings."Pleural effusion"]
    synonyms = ["pleural effusion", "effusion", "hydrothorax"]   # plain phrases
    patterns = ['fluid\\s+in\\s+the\\s+pleural\\s+space']  # Python regexes
    exclude = ["pericardial effusion"]     # a mention starting inside one of these is not this finding
    exclude_patterns = []                   # the same, as regexes
    exclude_sentence = ["thyroid"]          # a mention in a sentence naming one of these does not count,
    exclude_sentence_patterns = []          #   (the same, as regexes)
    keep_sentence = ["lung"]                #   unless the sentence also names one of these
    keep_sentence_patterns = []             #   (the same, as regexes)
    absent_when = ["lungs are clear"]       # statements that the finding is absent (normal findings)
    absent_patterns = []                    # the same, as regexes
    replace = false                         # true: drop the built-in phrasing for this finding

Phrases are matched case-insensitively on word boundaries; a space or hyphen between words
matches any run of spaces and hyphens (``ground glass`` finds ``ground-glass``); the last word
also matches its simple plural (``nodule`` → ``nodules``, ``opacity`` → ``opacities``,
``atelectasis`` → ``atelectases``, ``bulla`` → ``bullae``); a word ending in ``*`` matches any
ending (``emphysemat*``). Regexes are case-insensitive too and are tried at word starts; begin
each with literal words (``(?:atheroma|plaque)\\w*...``, not ``\\w+ plaque``) so the scanner can
find where to try it, and keep it inside one sentence (``[^.;]{0,40}`` rather than ``.*``).

Every finding also matches its own name, so a vocabulary works without any synonym file. A
project's file adds to the built-in phrasing (``synonyms.toml`` beside this module) for
findings of the same name unless ``replace = true``; tables for findings outside the project's
vocabulary are ignored, so one file can serve several projects. Errors (unreadable file, bad
TOML, a key or value of the wrong kind, a regex that does not compile) raise
:class:`~radcurate.engine.errors.InputError` naming the file and the key.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radcurate.engine.errors import InputError
from radcurate.engine.files.text_files import read_text_file
from radcurate.plugins.extractors.rules.trie import literal_atoms, trie_regex

BUILTIN_SYNONYMS = Path(__file__).with_name("synonyms.toml")

_LIST_KEYS = (
    "synonyms",
    "patterns",
    "exclude",
    "exclude_patterns",
    "exclude_sentence",
    "exclude_sentence_patterns",
    "keep_sentence",
    "keep_sentence_patterns",
    "absent_when",
    "absent_patterns",
)


@dataclass
class PhraseEntry:
    """The raw phrasing of one finding, as read from one or more synonym files."""

    synonyms: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    exclude_patterns: list[str] = field(default_factory=list)
    exclude_sentence: list[str] = field(default_factory=list)
    exclude_sentence_patterns: list[str] = field(default_factory=list)
    keep_sentence: list[str] = field(default_factory=list)
    keep_sentence_patterns: list[str] = field(default_factory=list)
    absent_when: list[str] = field(default_factory=list)
    absent_patterns: list[str] = field(default_factory=list)

    def extend(self, other: PhraseEntry) -> None:
        for key in _LIST_KEYS:
            getattr(self, key).extend(getattr(other, key))


def _last_word(word: str) -> list[str]:
    """Atoms of the last word of a phrase: the stem, then an atom for its simple plural."""
    for ending, plural in (("is", "(?:is|es)"), ("um", "(?:um|a)"), ("us", "(?:us|i)"), ("a", "(?:a|ae|as)")):
        if word.endswith(ending) and len(word) > len(ending) + 1:
            return literal_atoms(word[: -len(ending)]) + [plural]
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "o", "u", ""):
        return literal_atoms(word[:-1]) + ["(?:y|ies)"]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return literal_atoms(word) + ["(?:es)?"]
    return literal_atoms(word) + ["s?"]


def phrase_atoms(phrase: str) -> list[str]:
    """A plain phrase as regex atoms for :func:`~.rules_trie.trie_regex`, matched on lower-cased text.

    Words are separated by any run of spaces and hyphens, the last word also matches its simple
    plural, a trailing ``*`` matches any word ending, and word boundaries close both ends.
    """
    words = [w for w in re.split(r"[\s\-]+", phrase.strip().lower()) if w]
    if not words:
        raise ValueError("empty phrase")
    atoms: list[str] = [r"\b"] if words[0][0].isalnum() else []
    for i, word in enumerate(words):
        if i:
            atoms.append(r"[\s\-]+")
        if word.endswith("*"):
            atoms += literal_atoms(word[:-1]) + [r"\w*"]
        elif i == len(words) - 1 and word[-1].isalpha():
            atoms += _last_word(word)
        else:
            atoms += literal_atoms(word)
    if words[-1][-1].isalnum() or words[-1].endswith("*"):
        atoms.append(r"\b")
    return atoms


def phrase_key(phrase: str) -> str:
    """The first four characters of a phrase's first word: how a match is routed to its finding."""
    first = re.split(r"[\s\-]+", phrase.strip().lower())[0].rstrip("*")
    return first[:4]


def lower_pattern(source: str) -> str:
    """Lower-case the literal letters of a regex so it matches lower-cased text without IGNORECASE.

    Escapes (``\\B``, ``\\S``, ``\\W``, ``\\D``) keep their case, since their meaning depends on it.
    """
    out: list[str] = []
    i = 0
    while i < len(source):
        if source[i] == "\\":
            out.append(source[i : i + 2])
            i += 2
        else:
            out.append(source[i].lower())
            i += 1
    return "".join(out)


SynonymTable = dict[str, tuple[PhraseEntry, bool]]


@functools.cache
def builtin_synonyms() -> SynonymTable:
    """The built-in phrasing of CT-RATE's findings (read once per process)."""
    return read_synonym_file(BUILTIN_SYNONYMS)


def read_synonym_file(path: str | Path) -> SynonymTable:
    """Read a synonym file into {finding name (casefolded): (entry, replace)}; InputError if bad."""
    path = Path(path)
    try:
        data = tomllib.loads(read_text_file(path, "synonym file"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML ({exc})", path=path) from None
    return synonym_table(data, path)


def synonym_table(data: dict[str, Any], path: Path) -> SynonymTable:
    """The ``[findings."..."]`` tables of parsed TOML ``data`` read from ``path``; InputError if bad."""
    tables = data.get("findings")
    if not isinstance(tables, dict):
        raise InputError('expected [findings."<finding name>"] tables', path=path, field="findings")
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
        re.compile(lower_pattern(value) if is_regex else trie_regex([phrase_atoms(value)]))
    except (re.error, ValueError) as exc:
        raise InputError(
            f"invalid {'regex' if is_regex else 'phrase'} {value!r} ({exc})", path=path, field=where
        ) from None
