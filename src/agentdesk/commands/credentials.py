"""`agentdesk credentials set|delete NAME`: secrets go to the OS keychain, never into a config file."""

from __future__ import annotations

import getpass
import sys


def run_credentials(action: str, name: str) -> int:
    from agentdesk.config.credentials import CredentialMissing, delete_secret, set_secret

    try:
        if action == "set":
            secret = (
                getpass.getpass(f"Secret for '{name}': ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
            )
            if not secret:
                print("no secret given; nothing stored", file=sys.stderr)
                return 1
            set_secret(name, secret)
            print(f"stored credential '{name}' in the OS keychain")
        else:
            delete_secret(name)
            print(f"removed credential '{name}'")
    except CredentialMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:  # keyring backends raise their own types
        print(f"the OS keychain refused: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
