"""Text from outside: bounded, printable, single-line strings, and the folded form names are compared in."""

from __future__ import annotations

import unicodedata
from typing import Any

MAX_TEXT = 200
# Letters NFKD does not decompose into ASCII.
_TRANSLITERATE = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})


def clean_text(value: Any) -> str:
    """A printable, single-line, bounded string; '' for nothing usable."""
    if value is None or isinstance(value, dict | list | tuple | set | bytes):
        return ""
    text = str(value)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(text.split())[:MAX_TEXT]


def fold(text: str) -> str:
    """Lower case without accents, trimmed: 'José ' -> 'jose', 'Øberg' -> 'oberg'. The one comparable form of a
    name or value (the merge's conflict check and the identity matcher agree on it)."""
    if text.isascii():
        return text.lower().strip()  # the common case, without the Unicode decomposition
    # Unicode's compatibility caseless form, NFKD(casefold(NFKD(text))): decomposing first folds letters that
    # only become cased once decomposed (mathematical bold '𝗔' -> 'A' -> 'a'), so folding twice changes nothing.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_TRANSLITERATE).strip()
