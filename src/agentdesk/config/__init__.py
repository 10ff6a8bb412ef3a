"""Configuration: the declared schema, layered TOML loading, and credentials kept in the OS keychain."""

from agentdesk.config.loader import ConfigError, ConfigProblem, check_config_file, load_settings
from agentdesk.config.schema import Settings

__all__ = ["ConfigError", "ConfigProblem", "Settings", "check_config_file", "load_settings"]
