"""Whole-file writes (link --out, --fit, export --out, the machine-wide config, the instance note): atomic for a
file, and never a plain file put in place of a device, a pipe or a link the user named. (A named pipe stands in
for /dev/null here: the earlier rename, run as root against /dev/null, replaced the machine's device node.)"""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from agentdesk.base.files import write_whole

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file kinds")


def test_a_file_is_replaced_whole_and_no_temporary_is_left(tmp_path: Path) -> None:
    target = tmp_path / "pairs.csv"
    target.write_text("old\n", encoding="utf-8")
    write_whole(target, "left_id,right_id\n")
    assert target.read_text(encoding="utf-8") == "left_id,right_id\n"
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model.json"
    target.write_text("{}", encoding="utf-8")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_whole(target, b'{"new": true}')
    assert target.read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


@posix_only
def test_a_named_pipe_stays_a_pipe_and_gets_the_data(tmp_path: Path) -> None:
    pipe = tmp_path / "out.fifo"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    write_whole(pipe, "a,b\n")
    reader.join(10)
    assert received == [b"a,b\n"]
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # renaming over it would have left a plain file here


@posix_only
def test_a_symbolic_link_stays_and_its_file_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "agentdesk.toml"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "agentdesk.toml"
    link.symlink_to(real)
    write_whole(link, "new")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"


@posix_only
def test_a_private_file_is_user_only(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_text("", encoding="utf-8")
    target.chmod(0o644)
    write_whole(target, "patient data", private=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
