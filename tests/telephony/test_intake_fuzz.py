"""Fuzzing with the app alive (issue 9): Hypothesis drives JSON bodies at the running desk's webhook and JSON
lines at its stream source, over real sockets on 127.0.0.1. Every request is answered below 500, no exception
reaches the loop's handler (the crash hook), the desk keeps answering, and every accepted call is in the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentdesk.config.credentials import get_secret
from agentdesk.telephony.parsing import PRESETS, EventRejected, parse_stream_event
from tests.support import make_app, start_shown, wait_until

pytestmark = [pytest.mark.gui, pytest.mark.slow]

nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "617\x1b555", "\u202e0123", "+1%20(617)%20555-0142", "﻿", ""]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=90),
)
caller_ids = st.one_of(
    st.sampled_from(["6175550123", "+16175550188", "anonymous", "Restricted", "<unknown>", "1001", "x" * 70]),
    nasty_text,
    st.integers(),
    st.none(),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | nasty_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
    max_leaves=6,
)
stamps = st.one_of(
    st.none(),
    st.sampled_from(["2026-11-27T09:00:00Z", "2026-11-27T09:00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59Z"]),
    st.integers(),
    st.floats(),
    nasty_text,
)


def bodies(call_id: str) -> st.SearchStrategy[dict[str, Any]]:
    """An 'offered' for a fresh call (so an accepted one always changes something that must be stored), with
    every other field fuzzed, sometimes the call id too."""
    return st.fixed_dictionaries(
        {
            "event": st.sampled_from(["offered", "offered", "OFFERED", "Offered "]),
            "call_id": st.one_of(*[st.just(call_id)] * 4, nasty_text, st.integers(), json_values),
        },
        optional={
            "ani": caller_ids,
            "dnis": caller_ids,
            "queue": nasty_text,
            "agent": nasty_text,
            "campaign": nasty_text,
            "attributes": st.one_of(st.dictionaries(nasty_text, nasty_text | st.integers(), max_size=4), json_values),
            "timestamp": stamps,
            "extra": json_values,
        },
    )


def test_fuzzed_webhook_bodies_with_the_app_alive(qtbot, run_async, tmp_path: Path) -> None:
    app = make_app(tmp_path, qtbot=qtbot)
    loop_errors: list[object] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: loop_errors.append(context))
        await start_shown(app)
        url = f"http://127.0.0.1:{app.webhook.port}"
        headers = {"Authorization": f"Bearer {get_secret('webhook-token')}"}
        accepted: list[str] = []
        statuses: list[int] = []

        def fuzz() -> None:
            counter = iter(range(1_000_000))
            with httpx.Client(base_url=url, headers=headers, timeout=10) as client:

                @given(data=st.data(), raw=st.booleans())
                @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                def one(data: st.DataObject, raw: bool) -> None:
                    body = data.draw(bodies(f"fz-{next(counter)}"))
                    content = json.dumps(body, ensure_ascii=raw).encode("utf-8", errors="surrogatepass")
                    response = client.post(
                        "/v1/call-events", content=content, headers={"Content-Type": "application/json"}
                    )
                    statuses.append(response.status_code)
                    assert response.status_code in (202, 400), response.text
                    if response.status_code == 400:
                        assert response.json()["error"]  # names what was wrong
                    else:
                        accepted.append(str(body["call_id"]).strip())

                one()
                assert client.get("/v1/health").status_code == 200

        await asyncio.to_thread(fuzz)
        assert 202 in statuses and 400 in statuses  # a fuzz run that never reached both would prove little
        await wait_until(lambda: sum(app.intake.accepted.values()) == len(accepted), what="every accepted event")
        await app.desk.drain()
        stored = {str(row["call_id"]) for row in await app.store.call_events(limit=100_000)}
        missing = [call_id for call_id in accepted if call_id not in stored]
        assert missing == [], f"{len(missing)} accepted call(s) not stored"
        assert app.window.store_status.text() == "Local store: ready"
        await app.stop()

    run_async(scenario(), timeout=240)
    assert loop_errors == []


def test_fuzzed_stream_lines_with_the_app_alive(qtbot, run_async, tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = make_app(
        tmp_path,
        f'[[call_sources]]\nname = "pbx"\nkind = "json_stream"\nurl = "tcp://127.0.0.1:{port}"\n'
        'preset = "kamailio-evapi"\n',
        qtbot=qtbot,
    )
    lines: list[bytes] = []

    @given(data=st.data())
    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def draw(data: st.DataObject) -> None:
        body: Any = data.draw(bodies(f"ln-{len(lines)}"))
        body["ts"] = body.pop("timestamp", None)
        line = json.dumps(body, ensure_ascii=data.draw(st.booleans())).encode("utf-8", errors="surrogatepass")
        lines.append(data.draw(st.sampled_from([line, line, line, line[: len(line) // 2], b"\xff" + line])))

    draw()
    expected = []
    for line in lines:
        with contextlib.suppress(EventRejected):
            expected.append(parse_stream_event(line, PRESETS["kamailio-evapi"], "pbx").call_id)

    def feed() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.sendall(b"\n".join(lines) + b"\n")
            connection.recv(1)  # hold the link open until the desk goes away

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()

    async def scenario() -> None:
        await start_shown(app)
        await wait_until(lambda: app.intake.accepted["pbx"] >= len(expected), timeout=60, what="the lines")
        assert sum(app.intake.rejected.values()) == len(lines) - len(expected)
        await app.desk.drain()
        stored = {str(row["call_id"]) for row in await app.store.call_events(limit=100_000)}
        assert [call_id for call_id in expected if call_id not in stored] == []
        await app.stop()

    run_async(scenario(), timeout=240)
    feeder.join(5)
