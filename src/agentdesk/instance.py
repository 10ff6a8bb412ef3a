"""One AgentDesk per user: the running instance notes its webhook port, and a fresh secret, in a user-only file;
a second start (or `agentdesk pop`) hands its work over only after the process on that port proved it knows the
secret.

Why the proof: a port number is not an identity. While AgentDesk is down, another local user can listen on the
port `instance.json` names; without the proof the next start would send that user the webhook's bearer token.
The exchange: the caller sends a random challenge (nothing secret); the instance answers
HMAC-SHA256(secret, challenge); only a matching answer gets the bearer token. The secret is in a 0600 file in a
0700 folder, so only this OS user (or an administrator) can answer. A file whose process is gone is stale:
it is removed without connecting anywhere.

Without a usable OS keychain the webhook's bearer token cannot be kept, so the desk makes one for this run only
and notes it in the same user-only file: the hand-over (a second start, `agentdesk pop`) still reaches the running
desk, while the phone system, which would need the lasting token, cannot.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentdesk.base.private import only_mine, private_dir, write_private

log = logging.getLogger("agentdesk.app")
INSTANCE_FOLDER = "instance"
INSTANCE_FILE = "instance.json"
CHALLENGE_BYTES = 32


@dataclass(frozen=True)
class RunningInstance:
    port: int
    pid: int
    secret: bytes
    token: str = ""  # this run's bearer token, noted only when there is no keychain to keep one

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def new_secret() -> bytes:
    """A fresh secret for this run (never reused: a stale file's secret proves nothing about the next run)."""
    return secrets.token_bytes(32)


def instance_file(data_dir: Path) -> Path:
    return data_dir / INSTANCE_FOLDER / INSTANCE_FILE


def write_instance(data_dir: Path, port: int, secret: bytes, token: str = "") -> Path:
    """Note this run's port and secret (and, without a keychain, its bearer token) in a user-only file."""
    path = instance_file(data_dir)
    private_dir(path.parent)
    payload: dict[str, Any] = {"port": port, "pid": os.getpid(), "secret": secret.hex()}
    if token:
        payload["token"] = token
    write_private(path, json.dumps(payload).encode())
    return path


def remove_instance(data_dir: Path) -> None:
    path = instance_file(data_dir)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def read_instance(data_dir: Path) -> RunningInstance | None:
    """The running instance's note, or None: missing, unreadable, not user-only, or stale (its process is gone)."""
    path = instance_file(data_dir)
    if not path.exists():
        return None
    if not (only_mine(path) and only_mine(path.parent)):
        log.warning("ignoring the instance file: it is not private to this user (someone else could have made it)")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        instance = RunningInstance(
            port=int(data["port"]),
            pid=int(data["pid"]),
            secret=bytes.fromhex(data["secret"]),
            token=str(data.get("token", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(instance.pid):
        log.info("removing a stale instance file (its process %d is gone)", instance.pid)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return instance


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # the proof below decides; a dead pid there just means nobody answers
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # a live process of another user: not this user's AgentDesk
    return True


def call_instance(
    data_dir: Path, token: str, method: str, path: str, payload: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Ask the running instance something; None when no instance of this user answers (not running, a stale
    file, or a process on the port that cannot prove it is ours: that one never sees the token). An empty `token`
    (no keychain here) uses the run's own token from the note, when the instance noted one."""
    import httpx

    instance = read_instance(data_dir)
    if instance is None:
        return None
    token = token or instance.token
    if not token:
        return None
    with httpx.Client(base_url=instance.base_url, timeout=3.0, trust_env=False) as client:
        try:
            if not _proven(client, instance):
                log.warning(
                    "the process on port %d did not prove it is this user's AgentDesk: nothing handed over",
                    instance.port,
                )
                return None
            response = client.request(method, path, json=payload, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            return None
    if response.status_code >= 400:
        log.warning("the running instance refused %s: HTTP %d", path, response.status_code)
        return None
    try:
        result = response.json()
    except ValueError:
        return None
    return result if isinstance(result, dict) else None


def _proven(client: Any, instance: RunningInstance) -> bool:
    # Here, not at import: reading the note (every desktop start, before its window) needs no HTTP server code.
    from agentdesk.telephony.sources.webhook import PROOF_PATH, prove

    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    response = client.post(PROOF_PATH, json={"challenge": challenge.hex()})
    if response.status_code != 200:
        return False
    try:
        answer = response.json().get("proof", "")
    except (ValueError, AttributeError):
        return False
    return isinstance(answer, str) and hmac.compare_digest(answer, prove(instance.secret, challenge))
