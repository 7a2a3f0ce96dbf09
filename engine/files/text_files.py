"""Reading a user's text file (vocabulary, synonyms, labels, settings) with errors that name it.

One place decides what "cannot read" and "not UTF-8" say, so every command reports a bad file
the same way: the path, then the reason, with the offending byte's position.
"""

from __future__ import annotations

from pathlib import Path

from radcurate.engine.errors import InputError


def read_text_file(path: str | Path, what: str, *, encoding: str = "utf-8") -> str:
    """The file's text, or an :class:`InputError` naming ``path`` (``what`` e.g. "synonym file").

    Use ``encoding="utf-8-sig"`` for tables that spreadsheets save with a byte-order mark.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror or exc})", path=path) from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start})", path=path) from None


# The column a user's table (reports, reference labels) names its study by, first match wins:
# shared by report import (ingest) and label import (extraction) so both read the same files.
ID_COLUMNS = ("study_id", "AccessionNo", "id")
