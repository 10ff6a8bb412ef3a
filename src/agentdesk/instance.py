"""One AgentDesk per user: the running instance notes its webhook port in the user data folder, and a second
start (or `agentdesk pop`) hands its work to it over that authenticated loopback endpoint."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("agentdesk.app")
INSTANCE_FILE = "instance.json"


@dataclass(frozen=True)
class RunningInstance:
    port: int
    pid: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def write_instance(data_dir: Path, port: int) -> Path:
    path = data_dir / INSTANCE_FILE
    path.write_text(json.dumps({"port": port, "pid": os.getpid()}), encoding="utf-8")
    return path


def remove_instance(data_dir: Path) -> None:
    path = data_dir / INSTANCE_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def read_instance(data_dir: Path) -> RunningInstance | None:
    try:
        data = json.loads((data_dir / INSTANCE_FILE).read_text(encoding="utf-8"))
        return RunningInstance(port=int(data["port"]), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def call_instance(
    data_dir: Path, token: str, method: str, path: str, payload: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Ask the running instance something; None when no instance answers (not running, or a stale file)."""
    import httpx

    instance = read_instance(data_dir)
    if instance is None:
        return None
    try:
        response = httpx.request(
            method,
            f"{instance.base_url}{path}",
            json=payload,
            timeout=3.0,
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError:
        return None
    if response.status_code >= 400:
        log.warning("the running instance refused %s: HTTP %d", path, response.status_code)
        return None
    result: dict[str, Any] = response.json()
    return result
