"""A real call flow: Kamailio (proxy + evapi call events) and SIPp (caller + agent phone) on 127.0.0.1.

Skips when kamailio/sipp are not installed; fails instead when AGENTDESK_REQUIRE_SERVERS=1 (CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sip.harness import (
    DEFAULT_QUEUE_NUMBER,
    EvapiClient,
    KamailioInfo,
    find_free_port,
    place_abandoned_call,
    place_call,
    render_kamailio_config,
    require_sip_tools,
    run_agent_phone,
    run_kamailio,
)

ANSWER_DELAY_MS = 600
EVENT_KEYS = ["event", "call_id", "ani", "dnis", "ts"]


@pytest.fixture
def pbx(tmp_path: Path) -> Iterator[KamailioInfo]:
    """Kamailio routing the queue number to a ringing-then-answering agent phone."""
    require_sip_tools()
    agent_port = find_free_port("udp")
    with (
        run_kamailio(tmp_path, agent_port=agent_port) as info,
        run_agent_phone(agent_port, tmp_path, answer_delay_ms=ANSWER_DELAY_MS),
    ):
        yield info


def test_answered_and_abandoned_calls_emit_ordered_events(pbx: KamailioInfo, tmp_path: Path) -> None:
    started_ms = time.time() * 1000
    with EvapiClient(pbx) as events:
        events.sync()

        answered = place_call(pbx, ani="6175550123", dnis=DEFAULT_QUEUE_NUMBER, hold_ms=300, workdir=tmp_path)
        abandoned = place_abandoned_call(pbx, ani="+16175550199", ring_ms=150, workdir=tmp_path)

        answered_events = events.wait_for(answered.call_id, "ended")
        abandoned_events = events.wait_for(abandoned.call_id, "ended")
        events.drain(quiet=0.3)  # nothing more (e.g. a duplicate 'answered' for a retransmitted 200) may follow

    assert answered.call_id != abandoned.call_id
    assert [e["event"] for e in events.for_call(answered.call_id)] == ["offered", "answered", "ended"]
    assert [e["event"] for e in events.for_call(abandoned.call_id)] == ["offered", "ended"]
    assert [e["call_id"] for e in events.events] == [answered.call_id] * 3 + [abandoned.call_id] * 2

    for event in answered_events:
        assert list(event)[:5] == EVENT_KEYS
        assert (event["ani"], event["dnis"]) == ("6175550123", "8005550142")
    for event in abandoned_events:
        assert list(event)[:5] == EVENT_KEYS
        assert (event["ani"], event["dnis"]) == ("+16175550199", "8005550142")
    assert answered_events[2]["reason"] == "hangup"
    assert (abandoned_events[1]["reason"], abandoned_events[1]["code"]) == ("cancelled", 487)

    # ts: integer epoch milliseconds, in order, and the agent phone really rang before it answered.
    stamps = [e["ts"] for e in events.events]
    assert all(isinstance(ts, int) for ts in stamps)
    assert stamps == sorted(stamps)
    assert started_ms - 2000 <= stamps[0] <= time.time() * 1000 + 2000
    offered, answered_at, ended = (e["ts"] for e in answered_events)
    assert answered_at - offered >= ANSWER_DELAY_MS - 50
    assert ended - answered_at >= 250

    # The wire format: one compact JSON object per line.
    for line in events.raw_lines:
        assert b"\n" not in line and b"\r" not in line
        assert json.loads(line) is not None


@pytest.mark.parametrize(
    ("ani", "expected"),
    [
        ("o'brien%22x", "o'brien%22x"),  # quote-ish characters a URI user may carry, not unescaped by Kamailio
        ("café", "café"),  # non-ASCII UTF-8
        (os.fsdecode(b"caf\xe9"), None),  # not UTF-8: sent as JSON null rather than as broken JSON
    ],
    ids=["apostrophe-escape", "utf8", "invalid-utf8"],
)
def test_odd_caller_ids_stay_valid_json(pbx: KamailioInfo, tmp_path: Path, ani: str, expected: str | None) -> None:
    with EvapiClient(pbx) as events:
        events.sync()
        call = place_abandoned_call(pbx, ani=ani, ring_ms=0, workdir=tmp_path)
        seen = events.wait_for(call.call_id, "ended")
    assert [e["event"] for e in seen] == ["offered", "ended"]
    assert [e["ani"] for e in seen] == [expected, expected]
    assert all(e["dnis"] == DEFAULT_QUEUE_NUMBER for e in seen)


def test_rendered_config_passes_kamailio_check(tmp_path: Path) -> None:
    require_sip_tools()
    config = render_kamailio_config(tmp_path / "kamailio.cfg", sip_port=5062, evapi_port=8450, agent_port=5064)
    result = subprocess.run(
        ["kamailio", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config file ok" in result.stdout + result.stderr
