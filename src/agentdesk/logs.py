"""Logging: a named logger per subsystem, a rotating file written by one background thread (nobody who logs
waits on the disk), an in-memory tail for the crash dialog, and a filter that keeps patient data (phone numbers,
emails, dates, identifiers) out of every log line.

Code should not log patient data in the first place; the filter is the safety net for the line that slips
(an exception message quoting a payload, a third-party library logging a URL with a phone number in it).
"""

from __future__ import annotations

import collections
import copy
import json
import logging
import logging.handlers
import queue
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


# Not patient data, but shaped like it: kept as they are (the phone shape would eat an IP address or a UUID).
_PROTECTED = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"  # IPv4 address, optionally with its port
    r"|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"  # UUIDs (row ids)
    r"|\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"  # timestamps, not birth dates
    r"|\b\d{10}\.\d{1,6}\b"  # Asterisk call ids (epoch.sequence)
)
MAX_SHOWN = 20_000  # the most recent values kept for redaction (a long shift shows a few thousand)
# Fields whose values identify a person; others (sex, language, state) are too common to be worth replacing.
IDENTIFYING_FIELDS = (
    "given_name",
    "family_name",
    "birth_date",
    "mrn",
    "phone",
    "email",
    "address_line",
    "city",
    "postal_code",
)


def _date_spellings(value: str) -> list[str]:
    """A birth date as the desk shows it and as people and systems write it."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    if not match:
        return [value]
    year, month, day = match.groups()
    m, d = str(int(month)), str(int(day))
    return [value, f"{month}/{day}/{year}", f"{m}/{d}/{year}", f"{day}.{month}.{year}", f"{year}{month}{day}"]


class ShownValues:
    """What the desk knows it showed (names, addresses, birth dates, numbers) and the call ids it handled: log
    lines are redacted by these exact values as well as by shapes, and the call ids survive redaction.

    Shapes alone cannot catch a name or an address; values can, whatever the line looks like."""

    def __init__(self, capacity: int = MAX_SHOWN) -> None:
        self._values: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._call_ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._capacity = capacity
        self._guard = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._call_pattern: re.Pattern[str] | None = None

    def remember(self, fields: dict[str, str]) -> None:
        """Values of a record the desk received (only its identifying fields)."""
        values = [v for name in IDENTIFYING_FIELDS for v in _date_spellings(fields.get(name, "")) if v]
        given, family = fields.get("given_name", ""), fields.get("family_name", "")
        if given and family:
            values += [f"{given} {family}", f"{family}, {given}"]
        if fields.get("phone", "").startswith("+1"):
            values.append(fields["phone"][2:])
        self.remember_text(values)

    def remember_text(self, values: list[str]) -> None:
        """Free values, e.g. what the agent typed into the search box."""
        with self._guard:
            for value in values:
                value = value.strip()
                if (len(value) >= 2 and not value.isdigit()) or len(value) >= 5:
                    self._values[value.lower()] = None
                    self._values.move_to_end(value.lower())
            while len(self._values) > self._capacity:
                self._values.popitem(last=False)
            self._pattern = None

    def remember_call(self, call_id: str) -> None:
        with self._guard:
            if call_id and call_id not in self._call_ids:
                self._call_ids[call_id] = None
                while len(self._call_ids) > self._capacity:
                    self._call_ids.popitem(last=False)
                self._call_pattern = None

    def patterns(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        with self._guard:
            if self._pattern is None and self._values:
                alternatives = "|".join(re.escape(v) for v in sorted(self._values, key=len, reverse=True))
                self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
            if self._call_pattern is None and self._call_ids:
                values = list(self._values)
                # A call id that carries a shown value (some switches put the caller's number in it) is not kept.
                safe = [c for c in self._call_ids if not any(v in c.lower() for v in values)]
                alternatives = "|".join(re.escape(c) for c in sorted(safe, key=len, reverse=True))
                self._call_pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])") if safe else None
            return self._pattern, self._call_pattern

    def redact(self, text: str) -> str:
        return redact(text, self)


def redact(text: str, shown: ShownValues | None = None) -> str:
    """Replace patient data with placeholders: values the desk showed, then anything shaped like patient data;
    IP addresses, UUIDs, timestamps and the desk's call ids are kept."""
    values, call_ids = shown.patterns() if shown is not None else (None, None)
    if values is not None:
        text = values.sub("<redacted>", text)
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    if call_ids is not None:
        text = call_ids.sub(keep, text)
    text = _PROTECTED.sub(keep, text)
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text) if kept else text


class PatientDataFilter(logging.Filter):
    """Rewrites each record's message (and exception text) with `redact` before any handler formats it."""

    def __init__(self, shown: ShownValues | None = None) -> None:
        super().__init__()
        self.shown = shown if shown is not None else ShownValues()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message, self.shown)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.shown)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, self.shown)
        return True


class RecentLog(logging.Handler):
    """Keeps the last lines in memory, already redacted, for the crash dialog."""

    def __init__(self, capacity: int = 400, shown: ShownValues | None = None) -> None:
        super().__init__()
        self.shown = shown if shown is not None else ShownValues()  # what the whole log tree redacts by value
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


class BackgroundWriter(logging.handlers.QueueHandler):
    """Hands each (already redacted) record to one background thread that writes it to the file and the console:
    no thread that logs, the GUI thread included, waits on the disk. `flush` waits until everything queued is
    written; `close` (logging.shutdown calls it at exit) drains the queue and stops the thread."""

    def __init__(self, handlers: list[logging.Handler]) -> None:
        self._pending: queue.Queue[logging.LogRecord] = queue.Queue()
        super().__init__(self._pending)
        self._listener = logging.handlers.QueueListener(self._pending, *handlers, respect_handler_level=True)
        self._listener.start()
        self._running = True

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy that crosses threads: the message resolved, the traceback as text (the frames stay here)."""
        record = copy.copy(record)
        record.message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        return record

    def flush(self) -> None:
        if self._running:
            self._pending.join()
        for handler in self._listener.handlers:
            handler.flush()

    def close(self) -> None:
        if self._running:
            self._running = False
            self._listener.stop()  # writes what is still queued first
            for handler in self._listener.handlers:
                handler.close()
        super().close()


def setup_logging(
    log_dir: Path | None, level: str = "INFO", json_format: bool = False, keep_files: int = 5, console: bool = False
) -> RecentLog:
    """Configure the 'agentdesk' logger tree; returns the in-memory tail. Safe to call again (replaces handlers)."""
    root = logging.getLogger("agentdesk")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    libraries = [logging.getLogger(name) for name in ("httpx", "httpcore", "sqlalchemy", "alembic")]
    for library in libraries:
        for handler in list(library.handlers):
            library.removeHandler(handler)
    root.setLevel(level)
    root.propagate = False
    shown = ShownValues()
    redactor = PatientDataFilter(shown)
    formatter: logging.Formatter = JsonFormatter() if json_format else logging.Formatter(PLAIN_FORMAT)

    recent = RecentLog(shown=shown)  # in memory: written where it is logged, so a crash dialog has every line
    recent.setFormatter(logging.Formatter(PLAIN_FORMAT))
    writers: list[logging.Handler] = []  # disk and console: on the background writer's thread
    if log_dir is not None:
        from agentdesk.base.private import narrow, private_dir

        private_dir(log_dir)
        for existing in log_dir.glob("*.log*"):
            narrow(existing)  # files an older version wrote with the umask's 0644
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / "agentdesk.log",
            maxBytes=2_000_000,
            backupCount=keep_files,
            encoding="utf-8",
            delay=True,
            errors="backslashreplace",  # text from outside (a lone surrogate) must never fail a log write
        )
        file_handler.setFormatter(formatter)
        writers.append(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(PLAIN_FORMAT))
        stream.setLevel(logging.WARNING)
        writers.append(stream)
    handlers: list[logging.Handler] = [recent, *([BackgroundWriter(writers)] if writers else [])]
    for handler in handlers:
        handler.addFilter(redactor)  # before the queue: no patient data crosses to the writer thread
        root.addHandler(handler)
    # Libraries that log request URLs (httpx) go through the same redaction.
    for library in libraries:
        library.setLevel(logging.WARNING)
        for handler in handlers:
            library.addHandler(handler)
        library.propagate = False
    return recent
