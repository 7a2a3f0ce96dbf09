"""Fast, lenient reads of the few DICOM header values the loader needs on every slice.

pydicom converts an element on first access (DS strings become validated ``DSfloat`` objects),
which costs more than decoding a small uncompressed slice. For the short string types we read on
every file (decimal and integer strings, code strings, UIDs, short/long strings) we parse raw
ASCII bytes ourselves; non-ASCII text (which needs SpecificCharacterSet), values already
converted, and other types go through pydicom as usual. Objects that are not datasets
(functional-group namespaces) are read with ``getattr``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

_TEXT_VRS = {"DS", "IS", "CS", "UI", "LO", "SH"}
_MISSING = object()


@lru_cache(maxsize=256)
def _tag(keyword: str) -> tuple[int, bool]:
    """(tag, whether its raw value is text we may parse ourselves)."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return int(tag), dictionary_VR(tag) in _TEXT_VRS


def _raw(ds: Dataset, keyword: str) -> Any:
    """The element's raw ASCII text, ``_MISSING`` if absent, or None to ask pydicom."""
    tag, is_text = _tag(keyword)
    element = ds.get_item(tag)
    if element is None:
        return _MISSING
    value = getattr(element, "value", None)
    if is_text and isinstance(value, bytes) and value.isascii():  # else it needs the character set
        return value.decode("ascii").strip(" \x00")
    return None


def value(obj: Any, keyword: str) -> Any:
    """The converted value (pydicom's own conversion), or None when absent or empty."""
    found = obj.get(keyword) if isinstance(obj, Dataset) else getattr(obj, keyword, None)
    return None if found in (None, "") else found


def text(obj: Any, keyword: str) -> str:
    """A single string value, stripped; "" when absent."""
    if isinstance(obj, Dataset):
        raw = _raw(obj, keyword)
        if raw is _MISSING:
            return ""
        if raw is not None:
            return raw
    found = value(obj, keyword)
    return "" if found is None else str(found).strip()


def texts(obj: Any, keyword: str) -> list[str]:
    """A multi-valued string (ImageType) as a list; [] when absent."""
    if isinstance(obj, Dataset):
        raw = _raw(obj, keyword)
        if raw is _MISSING:
            return []
        if raw is not None:
            return [v.strip() for v in raw.split("\\")] if raw else []
    found = value(obj, keyword)
    if found is None:
        return []
    return [str(v).strip() for v in found] if not isinstance(found, str) else [found.strip()]


def numbers(obj: Any, keyword: str) -> tuple[float, ...] | None:
    """A numeric (multi-)value as floats; None when absent or empty. ValueError if not numeric."""
    if isinstance(obj, Dataset):
        raw = _raw(obj, keyword)
        if raw is _MISSING:
            return None
        if raw is not None:
            return tuple(float(v) for v in raw.split("\\")) if raw else None
    found = value(obj, keyword)
    if found is None:
        return None
    if isinstance(found, (str, bytes)) or not hasattr(found, "__iter__"):
        return (float(found),)
    return tuple(float(v) for v in found)


def number(obj: Any, keyword: str, default: float | None = None) -> float | None:
    """The first value of a numeric element, or ``default`` when absent or not a number."""
    try:
        found = numbers(obj, keyword)
    except (TypeError, ValueError):
        return default
    return found[0] if found else default
