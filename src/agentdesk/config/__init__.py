"""Configuration: the declared schema, layered TOML loading, and credentials kept in the OS keychain.

The schema and the loader (pydantic) are imported on first use of a name below, not with the package: the
desktop's first paint reads only `agentdesk.config.fingerprint`, and pydantic is built after it (see app.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# pydantic looks for plugins on the first model it builds by reading the entry points of every installed
# distribution (tens of ms at each start, more in a big environment); AgentDesk uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

if TYPE_CHECKING:
    from agentdesk.config.loader import ConfigError, ConfigProblem, check_config_file, load_settings
    from agentdesk.config.schema import Settings

__all__ = ["ConfigError", "ConfigProblem", "Settings", "check_config_file", "load_settings"]
_HOMES = {
    "ConfigError": "agentdesk.config.loader",
    "ConfigProblem": "agentdesk.config.loader",
    "check_config_file": "agentdesk.config.loader",
    "load_settings": "agentdesk.config.loader",
    "Settings": "agentdesk.config.schema",
}


def __getattr__(name: str) -> Any:
    """`from agentdesk.config import Settings` imports the schema at that moment (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agentdesk.config' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once: later lookups find it without coming here
    return value
