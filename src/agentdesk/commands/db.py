"""`agentdesk db upgrade|check`: the central PostgreSQL store's schema, from the same Alembic migrations."""

from __future__ import annotations

import sys
from pathlib import Path

from agentdesk import services


def run_database(action: str, config: Path | None, basedir: Path | None) -> int:
    from agentdesk.config import ConfigError
    from agentdesk.config.credentials import CredentialMissing
    from agentdesk.store.central import CentralStoreError

    try:
        settings = services.read_settings(services.app_paths(basedir), config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not settings.store.central_url:
        print("store.central_url: not set; nothing to upgrade (see resources/agentdesk.sample.toml)", file=sys.stderr)
        return 2
    try:
        central = services.open_central(settings)
        try:
            if action == "upgrade":
                central.upgrade()
            central.check_schema()
        finally:
            central.dispose()
    except (CredentialMissing, CentralStoreError) as exc:
        print(f"central store: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the driver's own errors can quote the URL's password: name the kind only
        print(f"central store: {type(exc).__name__}", file=sys.stderr)
        return 1
    print("central store schema is current")
    return 0
