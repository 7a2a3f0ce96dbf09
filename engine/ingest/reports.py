"""Report files: CSV, JSONL, or a folder of ``.txt`` files, read into (study id, text) pairs.

Why a reader that yields rejections instead of raising: one bad row (empty, huge, not UTF-8,
a duplicate id) must cost that row only; the rest of the file goes on and the bad row ends in
quarantine with the file, the field and the row. Problems with the whole file (it is missing, its
header is not UTF-8, no id or text column can be found) raise :class:`InputError` *before* any
row is read, so a wrong command fails at once and imports nothing.

Formats
-------
CSV / TSV
    RFC 4180 (quoted newlines, ``""`` escapes), UTF-8 with or without a BOM, a header row.
    Id column: ``--id-column`` or the first of :data:`ID_COLUMNS` present; text column:
    ``--text-column`` or the first of :data:`TEXT_COLUMNS` (case-insensitive).
JSONL
    One JSON object a line with the same keys.
Folder of ``.txt``
    One report per file; the study id is the file stem (``case_0001.txt`` → ``case_0001``).

The text is stored exactly as read (evidence offsets index into it).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from radcurate.engine.contracts.plugins import Rejection
from radcurate.engine.errors import InputError
from radcurate.engine.files.text_files import ID_COLUMNS

if TYPE_CHECKING:
    import _csv

TEXT_COLUMNS = ("report_text", "report", "text")
MAX_REPORT_BYTES = 1_000_000  # a chest CT report is a few kB; 1 MB means a wrong column or a dump
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CSV_FIELD_LIMIT = 2**31 - 1  # the csv module's default (128 kB) would reject a huge report mid-file


@dataclass(frozen=True)
class ReportEntry:
    """One report read from a file: the study it belongs to, its text, and where it was."""

    study_id: str
    text: str
    path: str
    where: str  # "row 3 (line 5)", "line 7" or "" for a .txt file


def is_report_file(path: Path) -> bool:
    """Whether ``path`` has a report format's suffix (CSV, TSV, JSONL); ``.txt`` folders are explicit."""
    name = path.name.lower()
    return path.suffix.lower() in TABLE_SUFFIXES or name.endswith(JSONL_SUFFIXES)


def _match(columns: Sequence[str], wanted: str | None, defaults: Sequence[str]) -> str | None:
    """The column named ``wanted`` (or the first default present); exact name first, then any case."""
    for name in [wanted] if wanted else defaults:
        if name in columns:
            return name
        folded = [c for c in columns if c.strip().lower() == name.lower()]
        if folded:
            return folded[0]
    return None


def pick_columns(
    columns: Sequence[str], path: Path, id_column: str | None = None, text_column: str | None = None
) -> tuple[str, str]:
    """The (id, text) column names of a report table, or an :class:`InputError` listing what exists."""
    found = ", ".join(repr(c) for c in columns) or "none"
    id_name = _match(columns, id_column, ID_COLUMNS)
    if id_name is None:
        wanted = repr(id_column) if id_column else " / ".join(ID_COLUMNS)
        raise InputError(
            f"no study id column {wanted} (columns: {found}); name one with --id-column",
            path=path,
            field=id_column or "study_id",
        )
    text_name = _match(columns, text_column, TEXT_COLUMNS)
    if text_name is None:
        wanted = repr(text_column) if text_column else " / ".join(TEXT_COLUMNS)
        raise InputError(
            f"no report text column {wanted} (columns: {found}); name one with --text-column",
            path=path,
            field=text_column or "report_text",
        )
    return id_name, text_name


_SURROGATE = re.compile("[\udc80-\udcff]")


def _bad_byte(text: str) -> int | None:
    """The first undecodable byte kept by ``surrogateescape``, or None when the text was UTF-8."""
    found = _SURROGATE.search(text)
    return ord(found.group()) - 0xDC00 if found else None


def _not_utf8(byte: int) -> str:
    return f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8"


def _open_text(path: Path) -> TextIO:
    """The file opened as text for streaming; invalid bytes survive as surrogates so each row can be
    judged alone. Memory stays bounded by a row, not the file (a site's CSV is hundreds of MB)."""
    try:
        with path.open("rb") as probe:
            start = probe.read(2)
    except FileNotFoundError:
        raise InputError("report file not found", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the report file ({exc.strerror})", path=path) from None
    if start in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError("line 1: the file is UTF-16, not UTF-8; save it as UTF-8", path=path, field="encoding")
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


class ReportFile:
    """An opened report source whose header is already checked; iterate :meth:`read` for rows.

    Parameters
    ----------
    path
        A ``.csv``/``.tsv``/``.jsonl`` file or a folder of ``.txt`` files.
    id_column, text_column
        Column (CSV) or key (JSONL) names; None means auto-detect (see module docstring).
    """

    def __init__(self, path: str | Path, *, id_column: str | None = None, text_column: str | None = None):
        self.path = Path(path)
        self.id_column = id_column
        self.text_column = text_column
        if self.path.is_dir():
            self.kind = "txt-folder"
            self._files = sorted(
                p
                for p in self.path.iterdir()
                if p.suffix.lower() == ".txt" and not p.name.startswith(".") and p.is_file()
            )
            if not self._files:
                raise InputError("no .txt reports in this folder", path=self.path)
        elif self.path.name.lower().endswith(JSONL_SUFFIXES):
            self.kind = "jsonl"
            self._keys = self._jsonl_keys()
        elif self.path.suffix.lower() in TABLE_SUFFIXES:
            self.kind = "csv"
            self._keys = self._csv_header()
        elif self.path.suffix.lower() == ".txt":
            self.kind = "txt-folder"
            self._files = [self.path]
            _open_text(self.path).close()  # existence check
        elif not self.path.exists():
            raise InputError("report file not found", path=self.path)
        else:
            raise InputError("not a report file: expected .csv, .tsv, .jsonl, .txt or a folder of .txt", path=self.path)

    # ------------------------------------------------------------------ headers
    def _csv_reader(self, handle: TextIO) -> _csv.Reader:
        csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
        return csv.reader(handle, delimiter=TABLE_SUFFIXES[self.path.suffix.lower()])

    def _csv_header(self) -> tuple[str, str]:
        try:
            with _open_text(self.path) as handle:
                header = next(self._csv_reader(handle), None)
        except csv.Error as exc:
            raise InputError(f"line 1: not a readable CSV header ({exc})", path=self.path) from None
        if not header:
            raise InputError("the file is empty (no header row)", path=self.path)
        bad = _bad_byte("".join(header))
        if bad is not None:
            raise InputError(f"line 1 (header): {_not_utf8(bad)}", path=self.path, field="encoding")
        return pick_columns(header, self.path, self.id_column, self.text_column)

    def _jsonl_keys(self) -> tuple[str, str]:
        with _open_text(self.path) as handle:
            return self._first_jsonl_keys(handle)

    def _first_jsonl_keys(self, handle: TextIO) -> tuple[str, str]:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                first = json.loads(line)
            except ValueError:
                raise InputError(
                    f"line {number}: not valid JSON; one JSON object per line expected", path=self.path
                ) from None
            if not isinstance(first, dict):
                raise InputError(f"line {number}: expected a JSON object", path=self.path)
            return pick_columns(list(first), self.path, self.id_column, self.text_column)
        raise InputError("the file is empty", path=self.path)

    # ------------------------------------------------------------------ rows
    def read(self) -> Iterator[ReportEntry | Rejection]:
        """Every report in file order, or a :class:`Rejection` for a row that cannot be one.

        A later row repeating an earlier row's study id is rejected (the first one wins).
        """
        rows = {"csv": self._csv_rows, "jsonl": self._jsonl_rows, "txt-folder": self._txt_rows}[self.kind]()
        first_seen: dict[str, str] = {}
        for item in rows:
            if isinstance(item, Rejection):
                yield item
                continue
            earlier = first_seen.get(item.study_id)
            if earlier is not None:
                yield Rejection(
                    item.path,
                    self._id_field,
                    f"{item.where}: duplicate study id {item.study_id!r} (first at {earlier}); "
                    "only the first is imported",
                )
                continue
            first_seen[item.study_id] = item.where or item.path
            yield item

    @property
    def _id_field(self) -> str:
        return self._keys[0] if self.kind != "txt-folder" else "file name"

    def _entry(self, study_id: str, text: str, path: str, where: str, text_field: str) -> ReportEntry | Rejection:
        prefix = f"{where}: " if where else ""
        study_id = study_id.strip()
        bad = _bad_byte(study_id)
        if bad is not None:
            return Rejection(path, self._id_field, prefix + _not_utf8(bad))
        ascii_text = text.isascii()  # most reports: no undecodable byte possible, size = length
        bad = None if ascii_text else _bad_byte(text)
        if bad is not None:
            return Rejection(path, text_field, prefix + _not_utf8(bad))
        if not study_id:
            return Rejection(path, self._id_field, prefix + "empty study id")
        if not text.strip():
            return Rejection(path, text_field, prefix + f"empty report for study {study_id!r}")
        size = len(text) if ascii_text else len(text.encode("utf-8"))
        if size > MAX_REPORT_BYTES:
            return Rejection(
                path,
                text_field,
                prefix + f"report for study {study_id!r} is {size / 1e6:.1f} MB, "
                f"over the {MAX_REPORT_BYTES / 1e6:.0f} MB limit (wrong text column?)",
            )
        return ReportEntry(study_id, text, path, where)

    def _csv_rows(self) -> Iterator[ReportEntry | Rejection]:
        with _open_text(self.path) as handle:
            yield from self._csv_rows_of(handle)

    def _csv_rows_of(self, handle: TextIO) -> Iterator[ReportEntry | Rejection]:
        id_name, text_name = self._keys
        reader = self._csv_reader(handle)
        path = str(self.path)
        header = next(reader)
        id_at, text_at = header.index(id_name), header.index(text_name)
        start, number = reader.line_num + 1, 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Rejection(
                    path, "csv", f"line {reader.line_num}: malformed CSV ({exc}); the rest of the file was not read"
                )
                return
            number += 1
            where = f"row {number} (line {start})"
            start = reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) <= max(id_at, text_at):
                yield Rejection(path, text_name, f"{where}: has {len(row)} fields, the header has {len(header)}")
                continue
            yield self._entry(row[id_at], row[text_at], path, where, text_name)

    def _jsonl_rows(self) -> Iterator[ReportEntry | Rejection]:
        with _open_text(self.path) as handle:
            yield from self._jsonl_rows_of(handle)

    def _jsonl_rows_of(self, handle: TextIO) -> Iterator[ReportEntry | Rejection]:
        id_name, text_name = self._keys
        path = str(self.path)
        for number, line in enumerate(handle, start=1):
            where = f"line {number}"
            if not line.strip():
                continue
            bad = _bad_byte(line)
            if bad is not None:
                yield Rejection(path, "encoding", f"{where}: {_not_utf8(bad)}")
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                yield Rejection(path, "json", f"{where}: not valid JSON ({exc.args[0] if exc.args else exc})")
                continue
            if not isinstance(obj, dict):
                yield Rejection(path, "json", f"{where}: expected a JSON object")
                continue
            missing = [k for k in (id_name, text_name) if obj.get(k) is None]
            if missing:
                yield Rejection(path, missing[0], f"{where}: no {missing[0]!r} key")
                continue
            text = obj[text_name]
            if not isinstance(text, str):
                yield Rejection(path, text_name, f"{where}: the report text must be a string")
                continue
            yield self._entry(str(obj[id_name]), text, path, where, text_name)

    def _txt_rows(self) -> Iterator[ReportEntry | Rejection]:
        for file in self._files:
            path = str(file)
            size = file.stat().st_size
            if size > MAX_REPORT_BYTES:
                yield Rejection(
                    path, "text", f"report is {size / 1e6:.1f} MB, over the {MAX_REPORT_BYTES / 1e6:.0f} MB limit"
                )
                continue
            data = file.read_bytes()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                yield Rejection(path, "encoding", f"line {line}: {_not_utf8(data[exc.start])}")
                continue
            yield self._entry(file.name[: -len(file.suffix)], text, path, "", "text")


def sniff_report_table(path: Path, *, id_column: str | None = None, text_column: str | None = None) -> str | None:
    """Why ``path`` (a CSV/TSV/JSONL met while walking folders) is *not* a report file, or None if it is.

    Lets ``radcurate import DIR cohort/`` take ``reports.csv`` and pass over side tables such as
    ``truth.csv`` that have no report text column.
    """
    try:
        ReportFile(path, id_column=id_column, text_column=text_column)
    except InputError as exc:
        return exc.reason
    return None
