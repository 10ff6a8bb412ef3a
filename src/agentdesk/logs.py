"""Logging: a named logger per subsystem, a rotating file, an in-memory tail for the crash dialog, and a filter
that keeps patient data (phone numbers, emails, dates, identifiers) out of every log line.

Code should not log patient data in the first place; the filter is the safety net for the line that slips
(an exception message quoting a payload, a third-party library logging a URL with a phone number in it).
"""

from __future__ import annotations

import collections
import json
import logging
import logging.handlers
import re
import threading
from pathlib import Path

LOGGER_NAMES = (
    "agentdesk.app",
    "agentdesk.config",
    "agentdesk.telephony",
    "agentdesk.records",
    "agentdesk.store",
    "agentdesk.campaigns",
    "agentdesk.demo",
    "agentdesk.ui",
    "agentdesk.qt",
)

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "<ssn>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"), "<date>"),
    # Phone numbers in any common shape: +1 (617) 555-0123, 617.555.0123, 16175550123, %2B16175550123 ...
    (re.compile(r"(?:\+|%2B)?\(?\d[\d\s().-]{5,}\d"), "<phone>"),
    # Query strings of record lookups: name=, family=, given=, birthdate=, identifier= ...
    (re.compile(r"(?i)\b(name|family|given|birthdate|identifier|phone|telecom|mrn|ani)=[^&\s]+"), r"\1=<redacted>"),
)


def redact(text: str) -> str:
    """Replace anything that looks like patient data with a placeholder."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class PatientDataFilter(logging.Filter):
    """Rewrites each record's message (and exception text) with `redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RecentLog(logging.Handler):
    """Keeps the last lines in memory, already redacted, for the crash dialog."""

    def __init__(self, capacity: int = 400) -> None:
        super().__init__()
        self._lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._guard:
            self._lines.append(line)

    def text(self) -> str:
        with self._guard:
            return "\n".join(self._lines)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(
    log_dir: Path | None, level: str = "INFO", json_format: bool = False, keep_files: int = 5, console: bool = False
) -> RecentLog:
    """Configure the 'agentdesk' logger tree; returns the in-memory tail. Safe to call again (replaces handlers)."""
    root = logging.getLogger("agentdesk")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    root.propagate = False
    redactor = PatientDataFilter()
    formatter: logging.Formatter = JsonFormatter() if json_format else logging.Formatter(PLAIN_FORMAT)

    recent = RecentLog()
    recent.setFormatter(logging.Formatter(PLAIN_FORMAT))
    handlers: list[logging.Handler] = [recent]
    if log_dir is not None:
        from agentdesk.private import narrow, private_dir

        private_dir(log_dir)
        for existing in log_dir.glob("*.log*"):
            narrow(existing)  # files an older version wrote with the umask's 0644
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / "agentdesk.log", maxBytes=2_000_000, backupCount=keep_files, encoding="utf-8", delay=True
        )
        file_handler.setFormatter(formatter)
        handlers.append(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(PLAIN_FORMAT))
        stream.setLevel(logging.WARNING)
        handlers.append(stream)
    for handler in handlers:
        handler.addFilter(redactor)
        root.addHandler(handler)
    # Libraries that log request URLs (httpx) go through the same redaction.
    for name in ("httpx", "httpcore", "sqlalchemy", "alembic"):
        library = logging.getLogger(name)
        library.setLevel(logging.WARNING)
        for handler in handlers:
            library.addHandler(handler)
        library.propagate = False
    return recent
