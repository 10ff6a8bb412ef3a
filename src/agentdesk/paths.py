"""Where AgentDesk keeps its files: the OS's per-user and machine-wide folders, or one base folder for trials."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP_NAME = "AgentDesk"
CONFIG_FILE_NAME = "agentdesk.toml"


@dataclass(frozen=True)
class AppPaths:
    """Every folder the app writes to, plus the machine-wide config file it reads (if any)."""

    data_dir: Path
    log_dir: Path
    config_dir: Path
    machine_config: Path | None

    @property
    def user_config(self) -> Path:
        return self.config_dir / CONFIG_FILE_NAME

    @property
    def local_store(self) -> Path:
        return self.data_dir / "agentdesk.sqlite3"

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"

    @property
    def ui_state(self) -> Path:
        return self.config_dir / "window-state.ini"

    @classmethod
    def for_basedir(cls, basedir: Path) -> AppPaths:
        """All data, logs and settings under one folder, the machine-wide file too (machine/agentdesk.toml, read
        when it exists): tests and trials stay isolated from the real machine."""
        basedir = basedir.resolve()
        return cls(
            data_dir=basedir / "data",
            log_dir=basedir / "logs",
            config_dir=basedir / "config",
            machine_config=basedir / "machine" / CONFIG_FILE_NAME,  # IT's file, for trials of [security]
        )

    @classmethod
    def for_current_user(cls) -> AppPaths:
        """The OS's folders: e.g. %LOCALAPPDATA%\\AgentDesk and %PROGRAMDATA%\\AgentDesk on Windows."""
        import platformdirs  # imported here: only needed once per start

        return cls(
            data_dir=platformdirs.user_data_path(APP_NAME, appauthor=False),
            log_dir=platformdirs.user_log_path(APP_NAME, appauthor=False),
            config_dir=platformdirs.user_config_path(APP_NAME, appauthor=False),
            machine_config=platformdirs.site_config_path(APP_NAME, appauthor=False) / CONFIG_FILE_NAME,
        )

    def create(self) -> None:
        """The folders, user-only (0700; narrowed if an older version made them wider)."""
        from agentdesk.base.private import private_dir

        for folder in (self.data_dir, self.log_dir, self.config_dir):
            private_dir(folder)
