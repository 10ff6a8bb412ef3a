"""Dotted paths into JSON: 'contact.name.first', 'phones.0.number'. One reader for every place a deployment names
a value by path (REST backend mappings, call-event stream mappings, script conditions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dig(value: Any, path: str, missing: Any = None) -> Any:
    """The value at `path` (an empty path is the value itself), or `missing` when a part leads nowhere. A part is
    a key of a mapping or the index of a list."""
    for part in path.split(".") if path else []:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return missing
    return value
