"""Configuration: the declared schema, layered TOML loading, and credentials kept in the OS keychain."""

import os

# pydantic looks for plugins on the first model it builds by reading the entry points of every installed
# distribution (tens of ms at each start, more in a big environment); AgentDesk uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from agentdesk.config.loader import ConfigError, ConfigProblem, check_config_file, load_settings
from agentdesk.config.schema import Settings

__all__ = ["ConfigError", "ConfigProblem", "Settings", "check_config_file", "load_settings"]
