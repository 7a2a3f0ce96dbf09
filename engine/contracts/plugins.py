"""Plugin contracts and discovery.

Four entry-point groups, one ``typing.Protocol`` each (MONAI Label keeps its contracts in
``interfaces/`` the same way): ``radcurate.loaders`` (files → volume), ``radcurate.extractors``
(report → labels), ``radcurate.exporters`` (project → dataset files) and ``radcurate.commands``
(more subcommands, such as the desktop's ``review``). An entry point names a
class; the class declares ``name`` and ``version`` as class attributes and is built with keyword
options. Built-ins in ``radcurate.plugins`` register in ``pyproject.toml`` exactly like third-party
packages. A plugin that fails to import or does not honour its contract is reported by name with
the reason and skipped: one broken package never takes the app down.
"""

from __future__ import annotations

import importlib.metadata
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from radcurate.engine.contracts.pacs import PacsClient
from radcurate.engine.errors import PluginError

if TYPE_CHECKING:
    from radcurate.engine.contracts.labels import SilverLabel
    from radcurate.engine.vocabulary import Vocabulary
    from radcurate.engine.volumes.volume import Volume

GROUPS: dict[str, str] = {
    "loaders": "radcurate.loaders",
    "extractors": "radcurate.extractors",
    "exporters": "radcurate.exporters",
    "commands": "radcurate.commands",
    "pacs": "radcurate.pacs",  # PACS clients (DICOMweb, DIMSE): engine/contracts/pacs.py
}


# --------------------------------------------------------------------------- loaders
@dataclass(frozen=True)
class VolumeSource:
    """Files a loader claims as one volume, found without decoding pixels.

    ``study_key`` links the volume to a study and its report (DICOM AccessionNumber, else
    StudyInstanceUID, else the folder name; NIfTI: the file stem). ``series_key`` tells volumes
    of one study apart (SeriesInstanceUID, else FrameOfReferenceUID + geometry, else file name).
    """

    loader: str
    files: tuple[str, ...]
    study_key: str
    series_key: str
    description: str = ""


@dataclass(frozen=True)
class Rejection:
    """A file (or group of files) a loader recognised but cannot import, and why."""

    path: str
    field: str
    reason: str


@dataclass
class Discovery:
    """What a loader found among a batch of files."""

    sources: list[VolumeSource] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    claimed: set[str] = field(default_factory=set)


@runtime_checkable
class VolumeLoader(Protocol):
    """Turns files into :class:`~radcurate.engine.volumes.volume.Volume` objects.

    ``discover`` looks at headers only and claims the files it recognises (every claimed file ends
    in a source or a rejection); ``load`` decodes one source to HU in the canonical LPS layout and
    raises :class:`~radcurate.engine.errors.InputError` naming the file and field on bad input.
    """

    name: str
    version: str

    def discover(self, files: Sequence[Path]) -> Discovery: ...

    def load(self, source: VolumeSource) -> Volume: ...


# --------------------------------------------------------------------------- extractors
@runtime_checkable
class ReportExtractor(Protocol):
    """Turns one report into one :class:`~radcurate.engine.contracts.labels.SilverLabel` per finding.

    ``extract`` must return exactly one label per vocabulary finding and raise
    :class:`~radcurate.engine.errors.ExtractionError` (not crash) on an answer it cannot use.
    Extractors that talk to a service (the LLM one) also honour
    :class:`radcurate.engine.extraction.remote.RemoteExtractor`, which the extraction job uses for
    concurrency, caching and cost records.
    """

    name: str
    version: str

    def extract(self, text: str, vocabulary: Vocabulary) -> list[SilverLabel]: ...


# --------------------------------------------------------------------------- exporters
@runtime_checkable
class DatasetExporter(Protocol):
    """Writes a project's reviewed dataset to a folder and returns a JSON-ready summary."""

    name: str
    version: str

    def export(self, project: Any, out: Path, options: Mapping[str, Any]) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- commands
@runtime_checkable
class CommandGroup(Protocol):
    """Adds commands to the ``radcurate`` command line: ``register(app)`` with the typer app.

    The entry point names a module or object with ``register``; it must import without its heavy
    dependencies (the desktop's ``review`` imports Qt only when run), so ``--help`` stays fast and a
    core install without the extra still lists the command and explains what to install.
    """

    def register(self, app: Any) -> None: ...


CONTRACTS: dict[str, type] = {
    "loaders": VolumeLoader,
    "extractors": ReportExtractor,
    "exporters": DatasetExporter,
    "commands": CommandGroup,
    "pacs": PacsClient,
}


# --------------------------------------------------------------------------- discovery
@dataclass(frozen=True)
class PluginInfo:
    """One discovered entry point: ``ok`` with its class, or broken with the reason."""

    name: str
    group: str
    target: str
    distribution: str | None
    ok: bool
    reason: str | None = None
    factory: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": GROUPS[self.group],
            "target": self.target,
            "distribution": self.distribution,
            "status": "ok" if self.ok else "broken",
            "reason": self.reason,
        }


def _protocol_members(contract: type) -> set[str]:
    attrs = getattr(contract, "__protocol_attrs__", None)  # Python >= 3.12
    if attrs is None:
        attrs = typing._get_protocol_attrs(contract)  # type: ignore[attr-defined]  # Python 3.11
    return {m for m in attrs if not m.startswith("_")}


def _missing_members(obj: Any, contract: type) -> list[str]:
    members = _protocol_members(contract)
    return sorted(m for m in members if not hasattr(obj, m))


def _inspect(group: str, ep: importlib.metadata.EntryPoint) -> PluginInfo:
    dist = ep.dist.name if ep.dist is not None else None

    def broken(reason: str) -> PluginInfo:
        return PluginInfo(ep.name, group, ep.value, dist, ok=False, reason=reason)

    try:
        obj = ep.load()
    except Exception as exc:  # a broken plugin must never take the app down
        return broken(f"import failed: {type(exc).__name__}: {exc}")
    missing = _missing_members(obj, CONTRACTS[group])
    if missing:
        return broken(f"does not honour the {group} contract: missing {', '.join(missing)}")
    if group != "commands" and not callable(obj):
        return broken("entry point must name a class or factory")
    return PluginInfo(ep.name, group, ep.value, dist, ok=True, factory=obj)


def _entry_points(group: str) -> Iterable[importlib.metadata.EntryPoint]:
    seen: set[tuple[str, str]] = set()
    for ep in importlib.metadata.entry_points(group=GROUPS[group]):
        if (ep.name, ep.value) not in seen:  # editable + regular installs can list one twice
            seen.add((ep.name, ep.value))
            yield ep


def discover(group: str | None = None) -> list[PluginInfo]:
    """All plugins of one group (``"loaders"``, ``"extractors"``, ``"exporters"``, ``"commands"``) or of all."""
    groups = [group] if group else list(GROUPS)
    for g in groups:
        if g not in GROUPS:
            raise PluginError(f"unknown plugin group {g!r}; expected one of {', '.join(GROUPS)}")
    return [_inspect(g, ep) for g in groups for ep in _entry_points(g)]


def working(group: str) -> list[PluginInfo]:
    """The plugins of a group that loaded and honour the contract, in name order."""
    return sorted((p for p in discover(group) if p.ok), key=lambda p: p.name)


def create(group: str, name: str, **options: Any) -> Any:
    """Instantiate plugin ``name`` of ``group`` with keyword options, or raise PluginError."""
    infos = [p for p in discover(group) if p.name == name]
    if not infos:
        available = ", ".join(p.name for p in working(group)) or "none"
        raise PluginError(f"no {group[:-1]} plugin named {name!r} (available: {available})")
    info = infos[0]
    if not info.ok or info.factory is None:
        raise PluginError(f"{group[:-1]} plugin {name!r} is broken: {info.reason}")
    try:
        return info.factory(**options)
    except TypeError as exc:
        raise PluginError(f"{group[:-1]} plugin {name!r} rejected its options: {exc}") from None
