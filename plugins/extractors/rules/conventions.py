"""Label conventions: which reading of a report's words the labels follow (DESIGN §4, Extraction).

Two built-in conventions, one TOML file each beside this module:

``clinical`` (the default)
    What a radiologist means: ``mediastinal lymph nodes within normal limits`` is no
    lymphadenopathy, ``bronchial wall thickening`` is peribronchial thickening, ``the nodule was
    not followed up`` still reports a nodule.
``ctrate``
    CT-RATE's annotators' habits, for agreement with its labels: any lymph node reported counts
    as lymphadenopathy, a ground-glass nodule is a nodule and not an opacity, the abdominal aorta
    is not counted, and the typos and Turkish-English renderings of its reports (``followed``,
    ``monitored`` and ``selected`` for "observed", ``icy density`` for ground glass).

A conventions file is a synonym file (format in :mod:`.phrases`) layered on the shared phrasing
(``synonyms.toml``), plus a ``[cues]`` table: ``seen`` lists extra words meaning "seen" (they
join the ``was not <seen>`` negation), and any cue kind of :mod:`.cues` (``post_neg = [...]``)
adds templates of that kind. A ``[conventions] description`` says what it is for.

The LLM prompt (:mod:`radcurate.plugins.extractors.llm.prompt`) states the same conventions in
words, so the two extractors do not disagree by design.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from radcurate.engine.errors import InputError
from radcurate.engine.files.text_files import read_text_file
from radcurate.engine.settings import LABEL_CONVENTIONS
from radcurate.plugins.extractors.rules.cues import SEEN_WORDS, cue_templates
from radcurate.plugins.extractors.rules.negation import ExtraCues, Lexicon, cue_lexicon
from radcurate.plugins.extractors.rules.phrases import SynonymTable, synonym_table

CONVENTIONS: tuple[str, ...] = LABEL_CONVENTIONS
DEFAULT_CONVENTIONS = "clinical"


@dataclass(frozen=True)
class Conventions:
    """One set of label conventions, read from its file."""

    name: str
    description: str
    phrasing: SynonymTable
    seen: tuple[str, ...]
    extra_cues: ExtraCues
    digest: str

    @property
    def lexicon(self) -> Lexicon:
        """The compiled negation/uncertainty cue scanner of these conventions."""
        return cue_lexicon(self.seen, self.extra_cues)


def conventions_path(name: str) -> Path:
    return Path(__file__).with_name(f"conventions_{name}.toml")


def check_name(name: str, field: str = "extraction.conventions") -> str:
    """``name`` if it is a known conventions name, else InputError naming the choices."""
    if name not in CONVENTIONS:
        raise InputError(f"unknown label conventions {name!r}; expected one of: {', '.join(CONVENTIONS)}", field=field)
    return name


@functools.cache
def load_conventions(name: str = DEFAULT_CONVENTIONS) -> Conventions:
    """The built-in conventions ``name`` (read once per process); InputError for an unknown name."""
    import hashlib

    path = conventions_path(check_name(name))
    text = read_text_file(path, "conventions file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML ({exc})", path=path) from None
    cues = data.pop("cues", {})
    meta = data.pop("conventions", {})
    kinds = set(cue_templates())
    unknown = sorted(set(cues) - kinds - {"seen"})
    if unknown:
        raise InputError(f"unknown cue kind(s) {', '.join(unknown)}", path=path, field="cues")
    seen = tuple(dict.fromkeys((*SEEN_WORDS, *cues.get("seen", []))))
    extra = tuple((kind, tuple(cues[kind])) for kind in sorted(cues) if kind != "seen")
    data.setdefault("findings", {})
    return Conventions(
        name=name,
        description=str(meta.get("description", "")),
        phrasing=synonym_table(data, path),
        seen=seen,
        extra_cues=extra,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
    )
