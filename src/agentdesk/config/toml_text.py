"""Write settings back as TOML (the standard library reads TOML but does not write it).

Covers what config files hold: strings, booleans, integers, floats, lists of those, tables, and arrays of
tables (with sub-tables such as `[backends.columns]`). The output reads back with tomllib to the same data.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dumps(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).strip("\n") + "\n"


def _string(text: str) -> str:
    # JSON escapes ", \ and C0 controls the way TOML's basic strings do; TOML also forbids a raw DEL (U+007F)
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(name: str) -> str:
    # fullmatch: `$` would also match before a trailing newline and write "y\n" as a bare key
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    for name, value in data.items():
        if not isinstance(value, Mapping) and not _is_table_array(value):
            lines.append(f"{_key(name)} = {value_text(value)}")
    for name, value in data.items():
        if isinstance(value, Mapping):
            header = ".".join(_key(part) for part in [*path, name])
            lines += ["", f"[{header}]"]
            _table(value, [*path, name], lines)
        elif _is_table_array(value):
            header = ".".join(_key(part) for part in [*path, name])
            for item in value:
                lines += ["", f"[[{header}]]"]
                _table(item, [*path, name], lines)


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {value_text(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} as TOML")
