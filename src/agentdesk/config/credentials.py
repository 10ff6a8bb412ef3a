"""Secrets live in the OS credential store (Windows Credential Manager, macOS Keychain, Secret Service);
the config file only names them."""

from __future__ import annotations

KEYRING_SERVICE = "AgentDesk"
# What to do when there is none, said the same way everywhere (the desk's status bar, the commands, doctor).
NO_KEYCHAIN = (
    "no usable OS keychain (Windows: Credential Manager; macOS: Keychain; Linux: a Secret Service such as "
    "gnome-keyring or KWallet, running and unlocked in this session)"
)


class CredentialMissing(LookupError):
    """A named credential is not in the keychain, or there is no keychain."""


def get_secret(name: str) -> str:
    """The secret stored under `name`; raises CredentialMissing with a hint on how to store it."""
    import keyring
    from keyring.errors import KeyringError

    try:
        secret = keyring.get_password(KEYRING_SERVICE, name)
    except KeyringError as exc:
        raise CredentialMissing(f"credential '{name}': {NO_KEYCHAIN} [{type(exc).__name__}]") from None
    if secret is None:
        raise CredentialMissing(f"credential '{name}' is not stored; run: agentdesk credentials set {name}")
    return secret


def set_secret(name: str, secret: str) -> None:
    """Store `secret`; raises CredentialMissing naming the fix when there is no usable keychain."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, name, secret)
    except KeyringError as exc:
        raise CredentialMissing(f"credential '{name}' not stored: {NO_KEYCHAIN} [{type(exc).__name__}]") from None


def delete_secret(name: str) -> None:
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, name)
    except PasswordDeleteError:
        raise CredentialMissing(f"credential '{name}' is not stored") from None


def ensure_token(name: str) -> str:
    """The secret `name`, created (random, 256 bits) and stored on first use; raises CredentialMissing when there
    is no usable keychain."""
    import secrets

    try:
        return get_secret(name)
    except CredentialMissing:
        token = secrets.token_urlsafe(32)
        set_secret(name, token)  # CredentialMissing when there is no usable keychain
        return token
