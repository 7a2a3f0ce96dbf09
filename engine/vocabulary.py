"""The findings a project labels, and the four label states.

The default vocabulary is CT-RATE's 18 chest CT findings, in CT-RATE's column order, so label
vectors line up with CT-RATE's CSVs and models trained on them. A project may define its own
list in a text file (one finding per line, ``#`` comments) or a TOML file (``findings = [...]``).
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from radcurate.engine.errors import InputError
from radcurate.engine.files.text_files import read_text_file

CT_RATE_FINDINGS: tuple[str, ...] = (
    "Medical material",
    "Arterial wall calcification",
    "Cardiomegaly",
    "Pericardial effusion",
    "Coronary artery wall calcification",
    "Hiatal hernia",
    "Lymphadenopathy",
    "Emphysema",
    "Atelectasis",
    "Lung nodule",
    "Lung opacity",
    "Pulmonary fibrotic sequela",
    "Pleural effusion",
    "Mosaic attenuation pattern",
    "Peribronchial thickening",
    "Consolidation",
    "Bronchiectasis",
    "Interlobular septal thickening",
)


class LabelState(enum.StrEnum):
    """CheXpert-style label state of one finding in one study.

    Training maps ``present`` to 1, ``absent`` and ``not_mentioned`` to 0 and masks
    ``uncertain`` (configurable); binary reference labels map 1 to ``present`` and 0 to
    ``absent``.
    """

    PRESENT = "present"
    ABSENT = "absent"
    UNCERTAIN = "uncertain"
    NOT_MENTIONED = "not_mentioned"

    @classmethod
    def parse(cls, value: str, *, field: str = "state") -> LabelState:
        """Parse a state name (case-insensitive, ``-``/space tolerated) or raise InputError."""
        key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise InputError(f"unknown label state {value!r}; expected one of: {allowed}", field=field) from None


@dataclass(frozen=True)
class Vocabulary:
    """An ordered list of finding names; the order is the label-vector order everywhere."""

    findings: tuple[str, ...] = CT_RATE_FINDINGS

    def __post_init__(self) -> None:
        if not self.findings:
            raise InputError("a vocabulary needs at least one finding", field="findings")
        seen: set[str] = set()
        for name in self.findings:
            if not name or name != name.strip():
                raise InputError(f"finding name {name!r} is empty or has surrounding spaces", field="findings")
            if name.casefold() in seen:
                raise InputError(f"finding {name!r} is listed twice", field="findings")
            seen.add(name.casefold())

    def __iter__(self) -> Iterator[str]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup().get(name.casefold()) is not None

    def _lookup(self) -> dict[str, str]:
        return {f.casefold(): f for f in self.findings}

    def resolve(self, name: str, *, field: str = "finding") -> str:
        """Return the canonical spelling of ``name`` (case-insensitive) or raise InputError."""
        found = self._lookup().get(str(name).strip().casefold())
        if found is None:
            raise InputError(
                f"unknown finding {name!r}; this project's vocabulary has: {', '.join(self.findings)}",
                field=field,
            )
        return found

    def index(self, name: str) -> int:
        """Position of a finding in label vectors."""
        return self.findings.index(self.resolve(name))

    @classmethod
    def default(cls) -> Vocabulary:
        """CT-RATE's 18 findings."""
        return cls(CT_RATE_FINDINGS)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Vocabulary:
        return cls(tuple(n.strip() for n in names))

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary file: TOML with ``findings = [...]`` or text, one finding a line."""
        path = Path(path)
        text = read_text_file(path, "vocabulary file")
        if path.suffix.lower() == ".toml":
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise InputError(f"invalid TOML ({exc})", path=path) from None
            names = data.get("findings")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise InputError("expected a list of strings", path=path, field="findings")
        else:
            names = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
            names = [n for n in names if n]
        try:
            return cls.from_names(names)
        except InputError as exc:
            raise InputError(exc.reason, path=path, field=exc.field) from None
