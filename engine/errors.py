"""One small exception hierarchy for everything the engine reports to a user.

The CLI turns a :class:`RadcurateError` into one line on stderr and exit code 1; anything else
escaping to the CLI is a bug. Input errors carry the path and the field (DICOM keyword, CSV
column, JSON key) so the message tells the user what to fix and where.
"""

from __future__ import annotations

from pathlib import Path


class RadcurateError(Exception):
    """Base of every error the engine raises on purpose."""


class InputError(RadcurateError):
    """Bad user input: a file, a field in it, or a command argument.

    Parameters
    ----------
    reason
        One sentence a user can act on.
    path
        The file (or folder) at fault, if any.
    field
        The field inside it (DICOM keyword, CSV column, JSON key, argument name), if any.
    """

    def __init__(self, reason: str, *, path: str | Path | None = None, field: str | None = None):
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path and self.field:
            where = f"{self.path} [{self.field}]: "
        elif self.path:
            where = f"{self.path}: "
        elif self.field:
            where = f"{self.field}: "
        return f"{where}{self.reason}"


class StoreError(RadcurateError):
    """The project store is missing, locked, from a newer version, or refused a write."""


class PluginError(RadcurateError):
    """A plugin failed to import or does not honour its contract."""


class ExtractionError(RadcurateError):
    """An extractor could not turn a report into labels (malformed LLM answer, refusal, ...)."""
