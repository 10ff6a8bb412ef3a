"""Patient data stays out of the log file, whatever a log call or an exception message carries."""

from __future__ import annotations

import logging
from pathlib import Path

from agentdesk.logs import redact, setup_logging


def test_redact_covers_the_usual_shapes() -> None:
    line = redact(
        "caller +1 (617) 555-0123 / 617.555.0123 / 16175550123, jane.doe@example.org, born 1980-02-03 or 2/3/1980,"
        " ssn 123-45-6789, GET /Patient?phone=%2B16175550123&family=Doe&birthdate=1980"
    )
    for secret in ("555", "jane.doe", "1980", "6789", "Doe"):
        assert secret not in line, secret
    assert redact("call 42 took 120 ms") == "call 42 took 120 ms"  # ordinary numbers survive


def test_log_file_and_recent_tail_hold_no_patient_data(tmp_path: Path) -> None:
    recent = setup_logging(tmp_path, level="DEBUG")
    log = logging.getLogger("agentdesk.records")
    log.info("lookup for %s found %s", "+16175550123", "Jane Doe born 1980-02-03")
    try:
        raise ValueError("backend echoed phone=6175550123")
    except ValueError:
        log.exception("backend failed")
    logging.getLogger("httpx").warning("HTTP Request: GET http://x/Patient?phone=%2B16175550123")
    for handler in logging.getLogger("agentdesk").handlers:
        handler.flush()
    text = (tmp_path / "agentdesk.log").read_text(encoding="utf-8")
    for content in (text, recent.text()):
        assert "6175550123" not in content and "1980-02-03" not in content
        assert "backend failed" in content and "ValueError" in content
    setup_logging(None)  # detach the file handler


def test_json_format_is_one_object_per_line(tmp_path: Path) -> None:
    import json

    setup_logging(tmp_path, json_format=True)
    logging.getLogger("agentdesk.store").warning("store slow: %d ms", 250)
    for handler in logging.getLogger("agentdesk").handlers:
        handler.flush()
    entry = json.loads((tmp_path / "agentdesk.log").read_text(encoding="utf-8").splitlines()[-1])
    assert entry["logger"] == "agentdesk.store" and entry["message"] == "store slow: 250 ms"
    setup_logging(None)


def test_digits_glued_to_other_text_are_still_redacted() -> None:
    # Over-redaction (a call id that holds a digit run) is the accepted cost: a number glued to a word still goes.
    assert "6175550123" not in redact("ani6175550123 x%2B16175550123 demo-9ee6175550123af")


def test_logging_never_waits_on_the_disk(tmp_path: Path) -> None:
    """The log file is a FIFO nobody reads yet, so opening it blocks: the thread that logs carries on regardless,
    and the line arrives once the file can be written."""
    import os
    import threading

    fifo = tmp_path / "agentdesk.log"
    os.mkfifo(fifo)
    setup_logging(tmp_path)
    logged = threading.Event()

    def log_a_line() -> None:
        logging.getLogger("agentdesk.store").warning("outbox slow: %d rows", 12)
        logged.set()

    threading.Thread(target=log_a_line, daemon=True).start()
    assert logged.wait(10), "logging waited for the file"
    with fifo.open(encoding="utf-8") as reader:  # now the writer thread can open it
        line = reader.readline()
        detach = threading.Thread(target=setup_logging, args=(None,))  # drains and closes the writer
        detach.start()
        assert "outbox slow: 12 rows" in line
        reader.read()
    detach.join(10)
    assert not detach.is_alive()
