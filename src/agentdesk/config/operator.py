"""Who sits at the desk: the OS login is the identity in every stored row; an optional AgentDesk PIN (argon2id
hash, user-only file) guards the unlock; the role (agent, supervisor, admin) comes from the machine-wide config,
never from a file the user can edit.

The config's `agent.id` is only how phone systems name this agent (a display and phone mapping): anyone can type
someone else's id into their own file, nobody can log into the OS as someone else.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdesk.config.schema import SecuritySettings  # types only: the window's title needs no pydantic

PIN_FILE = "pin.argon2"


def os_login() -> str:
    """The operating system's name for the logged-in user (not the USER/LOGNAME variables, which anyone can set)."""
    if os.name == "posix":
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    return os.getlogin()  # Windows: GetUserNameW, the session's account


class Role(enum.IntEnum):
    """Ordered: a higher role may do what a lower one may."""

    AGENT = 1
    SUPERVISOR = 2
    ADMIN = 3


def role_of(login: str, security: SecuritySettings, central_role: str = "") -> Role:
    """The higher of what the machine-wide config and the central store's agent_roles say."""
    granted = {"supervisor": Role.SUPERVISOR, "admin": Role.ADMIN}.get(central_role.lower(), Role.AGENT)
    return max(granted, _configured_role(login, security))


def _configured_role(login: str, security: SecuritySettings) -> Role:
    folded = login.casefold()
    if folded in {name.casefold() for name in security.admins}:
        return Role.ADMIN
    if folded in {name.casefold() for name in security.supervisors}:
        return Role.SUPERVISOR
    return Role.AGENT


class PinInvalid(ValueError):
    """A PIN that does not meet the deployment's rule; the message says what is needed."""


class PinBook:
    """This user's PIN as an argon2id hash (memory-hard: a copied file does not give the PIN away cheaply)."""

    def __init__(self, data_dir: Path, min_length: int = 6) -> None:
        self.path = data_dir / PIN_FILE
        self.min_length = min_length
        self._hash: str | None = None

    def load(self) -> bool:
        """Read the hash once (at start): deleting the file later does not remove the PIN of the running desk."""
        try:
            self._hash = self.path.read_text(encoding="ascii").strip() or None
        except (OSError, UnicodeDecodeError):
            self._hash = None
        return self._hash is not None

    @property
    def is_set(self) -> bool:
        return self._hash is not None

    def set(self, pin: str, current: str | None = None) -> None:
        """Store a new PIN; changing one needs the current PIN. Raises PinInvalid."""
        from argon2 import PasswordHasher

        from agentdesk.base.private import private_dir, write_private

        if self.load() and not (current is not None and self.verify(current)):
            raise PinInvalid("the current PIN is wrong")
        if len(pin) < self.min_length:
            raise PinInvalid(f"the PIN needs at least {self.min_length} characters")
        hashed = PasswordHasher().hash(pin)
        private_dir(self.path.parent)
        write_private(self.path, hashed.encode("ascii"))
        self._hash = hashed

    def _refresh(self) -> None:
        """A PIN changed meanwhile (`agentdesk pin set`) applies at the next unlock; a file deleted meanwhile does
        not remove the PIN of the running desk."""
        try:
            stored = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return
        if stored:
            self._hash = stored

    def verify(self, pin: str) -> bool:
        """True when `pin` is this user's PIN (about 50 ms: run it off the GUI thread)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        self._refresh()
        if self._hash is None:
            return False
        try:
            return PasswordHasher().verify(self._hash, pin)
        except (VerificationError, InvalidHashError):
            return False
