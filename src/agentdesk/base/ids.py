"""Record references: one source record named across the app (audit, identity decisions, the panels) as
'source:id', e.g. 'EHR:p123'. The source is what comes before the first colon; ids may carry colons."""

from __future__ import annotations

import os
import random

# Row ids need uniqueness, not secrecy: one generator seeded once from the OS, instead of a getrandom() system
# call per row (uuid4), which cost ~0.3 ms each on a loaded machine and was the largest per-event cost in a burst.
_ROW_IDS = random.Random(os.urandom(32))
if hasattr(os, "register_at_fork"):  # a forked child must not repeat its parent's (or a sibling's) ids
    os.register_at_fork(after_in_child=lambda: _ROW_IDS.seed(os.urandom(32)))


_VERSION_4 = (0x4 << 76) | (0x8 << 60)  # the version nibble (4) and the RFC 4122 variant bits (10)
_CLEAR = ~((0xF << 76) | (0xC << 60))


def new_row_id() -> str:
    """A random (version 4) UUID for a row that is synced: unique across desks, made on the client. Formatted
    directly: building a uuid.UUID per row was a visible share of a burst's per-event work."""
    h = f"{(_ROW_IDS.getrandbits(128) & _CLEAR) | _VERSION_4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def record_ref(source: str, record_id: str) -> str:
    return f"{source}:{record_id}"


def ref_source(ref: str) -> str:
    """The source part of a reference: 'EHR:p:1' -> 'EHR'."""
    return ref.split(":", 1)[0]
