"""What triage reads: PATH arguments → volumes to score, split into shards, loaded one at a time.

A PATH is a NIfTI file, a DICOM file, or a folder (walked recursively). The walk is split into
*units* before any header is read: each NIfTI file is a unit, and the other files of one folder
are one unit (a DICOM series lives in one folder in every archive layout we know). ``--shard i/n``
keeps every n-th unit of the sorted list starting at i (1-based), so n jobs of a Slurm array or a
Kubernetes indexed Job cover an archive exactly once, each reading only its own headers, and the
split does not change between runs. The loader plugins (``radcurate.loaders``, the same ones
``import`` uses) then find the volumes in each unit; hidden files and DICOMDIR indexes are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radcurate.engine.errors import InputError, PluginError

_SKIPPED = {"dicomdir", "thumbs.db", "desktop.ini"}
_SIDE_SUFFIXES = {".txt", ".md", ".csv", ".json", ".jsonl", ".xml", ".yaml", ".yml", ".pdf", ".html", ".py", ".npy"}


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str | None) -> Shard:
        if not text:
            return cls()
        try:
            i, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise InputError(f"--shard is i/n with whole numbers, got {text!r}", field="shard") from None
        if not 1 <= i <= n:
            raise InputError(f"--shard {text}: need 1 <= i <= n", field="shard")
        return cls(i, n)

    def pick(self, units: Sequence[Any]) -> list[Any]:
        return list(units[self.index - 1 :: self.count])


@dataclass(frozen=True)
class Failure:
    """A path that could not be scored, and why (reported; the run goes on)."""

    path: str
    reason: str


def _is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def _wanted(path: Path) -> bool:
    name = path.name
    return not name.startswith(".") and name.lower() not in _SKIPPED and name.split(".")[0].upper() != "LICENSE"


def units(paths: Sequence[str | Path]) -> tuple[list[tuple[Path, ...]], list[Failure]]:
    """The sorted units of ``paths`` (module docstring) and the paths that do not exist."""
    groups: dict[Path, list[Path]] = {}
    singles: list[tuple[Path, ...]] = []
    missing = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_file():
            singles.append((path,))
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    file = Path(root) / name
                    if not _wanted(file) or file.suffix.lower() in _SIDE_SUFFIXES:
                        continue
                    if _is_nifti(file):
                        singles.append((file,))
                    else:
                        groups.setdefault(Path(root), []).append(file)
        else:
            missing.append(Failure(str(path), "no such file or folder"))
    found = singles + [tuple(files) for files in groups.values()]
    unique = sorted(dict.fromkeys(found), key=lambda u: str(u[0].parent if len(u) > 1 else u[0]))
    return unique, missing


def loaders() -> list[Any]:
    """The working loader plugins (DICOM series, NIfTI, and any third-party ones)."""
    from radcurate.engine.contracts.plugins import working

    found = [info.factory() for info in working("loaders") if info.factory is not None]
    if not found:
        raise PluginError("no working loader plugin is installed (see `radcurate plugins`)")
    return found


def volumes(unit: tuple[Path, ...], plugins: Sequence[Any]) -> Iterator[tuple[str, Any, Failure | None]]:
    """``(label, volume or None, failure or None)`` for each volume the loaders find in ``unit``.

    The label is the NIfTI file, or the DICOM folder (with the series description when a folder
    holds several series). A unit with nothing loadable yields one failure naming the first refusal.
    """
    remaining = list(unit)
    sources: list[tuple[Any, Any]] = []
    refused = []
    for loader in plugins:
        discovery = loader.discover(remaining)
        sources.extend((loader, s) for s in discovery.sources)
        refused.extend(discovery.rejected)
        claimed = set(discovery.claimed) | {r.path for r in discovery.rejected}
        claimed |= {f for s in discovery.sources for f in s.files}
        remaining = [f for f in remaining if str(f) not in claimed]
    where = str(unit[0]) if len(unit) == 1 else str(unit[0].parent)
    if not sources:
        if refused:
            first = refused[0]
            yield where, None, Failure(where, f"{first.reason} ({first.path}, {first.field})")
        else:
            yield where, None, Failure(where, "no DICOM series or NIfTI volume found here")
        return
    for loader, source in sources:
        label = where if len(sources) == 1 else f"{where}#{source.series_key}"
        try:
            yield label, loader.load(source), None
        except InputError as exc:
            yield label, None, Failure(label, str(exc))
        except Exception as exc:  # a decoder crash on one series must not end the run
            yield label, None, Failure(label, f"{type(exc).__name__}: {exc}")
