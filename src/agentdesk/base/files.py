"""Writing a whole file the way a crash cannot half-do: beside it, flushed, then renamed over it.

Only a regular file (or nothing yet) is replaced. A path the user named that is something else, `/dev/null`,
`/dev/stdout`, a named pipe, is written to as it is: renaming over it would put a plain file in its place (as
root, `agentdesk link --out /dev/null` replaced the machine's /dev/null). A symbolic link is followed, so the
file it points at is the one replaced and the link stays.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
_BINARY = getattr(os, "O_BINARY", 0)


def write_whole(path: Path, data: bytes | str, private: bool = False) -> None:
    """Replace the file at `path` with `data` (str is written as UTF-8), atomically where it is a file.
    `private`: user-only from the first byte (0600), never briefly readable by others, and the path itself is
    replaced whatever it is (the app's own files: a link there is not followed)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if private:
        # The app's own files in its user-only folders: whatever stands at the path (a link planted there, say)
        # is replaced, never followed or written through.
        target, mode = path, None
    else:
        target = Path(os.path.realpath(path))
        try:
            mode = target.stat().st_mode
        except FileNotFoundError:
            mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with target.open("wb") as stream:  # a device or a pipe: a stream to write, not a file to swap
            stream.write(payload)
        return
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, PRIVATE_FILE if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        if private and os.name == "posix":
            temporary.chmod(PRIVATE_FILE)  # O_CREAT's mode does not narrow a file left by an earlier crash
        temporary.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
