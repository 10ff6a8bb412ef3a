"""Files and folders only their owner can read: the store, the logs, the instance file.

On POSIX that is mode 0700 for folders and 0600 for files, set at creation (umask cannot widen them) and
tightened on every start for folders an older version created wider. On Windows the per-user profile folders
(%LOCALAPPDATA%) already carry user-only ACLs, which new files inherit; the modes below are no-ops there.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from agentdesk.base.files import PRIVATE_FILE, write_whole

PRIVATE_DIR = 0o700
POSIX = os.name == "posix"


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) user-only; an existing folder is narrowed to user-only."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if POSIX:
        with contextlib.suppress(PermissionError):  # not ours (e.g. a shared folder set by IT): leave it
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing, user-only; an existing file is narrowed to user-only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), PRIVATE_FILE)
    os.close(fd)
    narrow(path)
    return path


def narrow(path: Path) -> None:
    """Make an existing file user-only (e.g. the SQLite -wal/-shm files SQLite creates with the umask)."""
    if POSIX:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(PRIVATE_FILE)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, user-only from the first byte (never briefly readable by others)."""
    write_whole(path, data, private=True)


def only_mine(path: Path) -> bool:
    """True when `path` is owned by this user and nobody else may read or change it (always True on Windows,
    where the profile's ACLs decide)."""
    if not POSIX:
        return True
    try:
        info = path.stat()
    except OSError:
        return False
    return mine_alone(info)


def mine_alone(info: os.stat_result) -> bool:
    """`only_mine` on a stat already taken (e.g. fstat of an open file, so the file checked is the file read)."""
    return info.st_uid == os.getuid() and not stat.S_IMODE(info.st_mode) & 0o077
