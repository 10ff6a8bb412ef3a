"""The JSON stream source against real servers on 127.0.0.1: newline-delimited JSON over TCP, and WebSocket.

What IT would notice: good events arrive in order, bad lines are counted by reason without dropping the link,
an over-long line cannot take the link down (or sneak an event in), and the link comes back after the server
closes it, with the status bar seeing every state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from agentdesk.telephony.events import CallEvent, CallEventKind
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.parsing import PRESETS
from agentdesk.telephony.sources import LinkState
from agentdesk.telephony.sources.stream import MAX_LINE, JsonStreamSource
from tests.support import wait_until

KAMAILIO = PRESETS["kamailio-evapi"]
CALL = "a84b4c76e66710"
ANI, DNIS = "6175550123", "8005550142"


def evapi(kind: str, call_id: str = CALL, ts: int = 1764230400123, **extra: Any) -> dict[str, Any]:
    return {"event": kind, "call_id": call_id, "ani": ANI, "dnis": DNIS, "queue": "cardiology", "ts": ts, **extra}


def line(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode() + b"\n"


class Recorder:
    """An intake that records what reached the desk, and the link states the status bar would show."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.intake = CallIntake(self.events.append)
        self.links: list[tuple[LinkState, str]] = []

    def on_link(self, name: str, state: LinkState, detail: str) -> None:
        assert name == "evapi"
        self.links.append((state, detail))

    @property
    def states(self) -> list[LinkState]:
        return [state for state, _detail in self.links]

    def handled(self) -> int:
        return sum(self.intake.accepted.values()) + sum(self.intake.rejected.values())


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def tcp_server(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


def test_tcp_stream_delivers_good_lines_counts_bad_ones_and_reconnects() -> None:
    async def scenario() -> tuple[Recorder, list[str]]:
        rec = Recorder()
        connections: list[str] = []
        second_connection_done = asyncio.Event()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append("open")
            if len(connections) > 1:  # the reconnect: one more event, then stay open until the client leaves
                writer.write(line(evapi("offered", call_id="b-2", ts=1764230500000)))
                await writer.drain()
                await reader.read()  # EOF when the source stops
                await close_writer(writer)
                second_connection_done.set()
                return

            async def send(data: bytes, handled_after: int) -> None:
                writer.write(data)
                await writer.drain()
                await wait_until(lambda: rec.handled() >= handled_after, what=f"{handled_after} handled lines")

            await send(line(evapi("offered")), 1)
            await send(line(evapi("answered", ts=1764230405000)), 2)
            writer.write(b"\n   \n")  # keep-alives: neither events nor rejections
            await send(b"{not json at all\n", 3)
            await send(line(evapi("parked")), 4)
            # One line over 64 KiB that would be a valid event if it were read whole; the padding keeps the
            # outcome independent of how TCP happens to split it (see the strict xfail below for a split).
            big = json.dumps(evapi("offered", call_id="too-big", pad="x" * (MAX_LINE - 200))).encode()
            assert MAX_LINE - 200 < len(big) <= MAX_LINE + 1
            await send(big + b" " * 4000 + b"\n", 5)
            await send(line(evapi("ended", ts=1764230460000)), 6)
            await close_writer(writer)  # the server goes away; the source must come back

        server, port = await tcp_server(handler)
        source = JsonStreamSource("evapi", f"tcp://127.0.0.1:{port}", KAMAILIO, rec.intake, rec.on_link, 0.2)
        try:
            source.start()
            await wait_until(lambda: len(rec.events) == 4, timeout=15, what="the event after the reconnect")
            await wait_until(lambda: source.state is LinkState.UP, what="the link up again")
        finally:
            await source.stop()
            await asyncio.wait_for(second_connection_done.wait(), 10)
            server.close()
            await server.wait_closed()
        return rec, connections

    rec, connections = asyncio.run(scenario())
    first = rec.events[:3]
    assert [e.kind for e in first] == [CallEventKind.OFFERED, CallEventKind.ANSWERED, CallEventKind.ENDED]
    assert {e.call_id for e in first} == {CALL}
    assert all((e.ani, e.dnis, e.queue, e.source) == (ANI, DNIS, "cardiology", "evapi") for e in first)
    assert [e.occurred_at.timestamp() for e in first] == [1764230400.123, 1764230405.0, 1764230460.0]
    assert rec.events[3].call_id == "b-2"
    assert "too-big" not in {e.call_id for e in rec.events}
    assert rec.intake.rejected == {"malformed JSON": 1, "unknown event kind": 1, "line too long": 1}
    assert rec.intake.accepted == {"evapi": 4}
    assert connections == ["open", "open"]
    assert rec.states == [
        LinkState.CONNECTING,
        LinkState.UP,
        LinkState.DOWN,
        LinkState.CONNECTING,
        LinkState.UP,
        LinkState.DOWN,
    ]
    assert "closed by the server" in rec.links[2][1] and "retrying in" in rec.links[2][1]
    assert rec.links[-1] == (LinkState.DOWN, "stopped")
    details = " ".join(detail for _state, detail in rec.links)
    assert ANI not in details and CALL not in details  # the status bar never shows call data


def test_the_tail_of_an_over_long_line_is_dropped_too() -> None:
    async def scenario() -> Recorder:
        rec = Recorder()
        finished = asyncio.Event()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # A line arriving in two parts: more than MAX_LINE bytes first, then (after the client has given up
            # on it) the rest, which happens to look like an event of its own.
            writer.write(b"x" * (MAX_LINE + 500))
            await writer.drain()
            await wait_until(lambda: rec.intake.rejected["line too long"] == 1, what="the over-long line noticed")
            writer.write(line({"event": "offered", "call_id": "phantom", "ani": ANI}))
            writer.write(line(evapi("offered")))
            await writer.drain()
            await reader.read()
            await close_writer(writer)
            finished.set()

        server, port = await tcp_server(handler)
        source = JsonStreamSource("evapi", f"tcp://127.0.0.1:{port}", KAMAILIO, rec.intake, rec.on_link, 0.2)
        try:
            source.start()
            await wait_until(lambda: any(e.call_id == CALL for e in rec.events), what="the next real event")
        finally:
            await source.stop()
            await asyncio.wait_for(finished.wait(), 10)
            server.close()
            await server.wait_closed()
        return rec

    rec = asyncio.run(scenario())
    assert [e.call_id for e in rec.events] == [CALL]
    assert rec.intake.rejected == {"line too long": 1}


def test_websocket_stream_delivers_messages_and_reconnects() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def scenario() -> tuple[Recorder, list[str]]:
        rec = Recorder()
        paths: list[str] = []
        second_done = asyncio.Event()

        async def handler(ws: ServerConnection) -> None:
            assert ws.request is not None
            paths.append(ws.request.path)
            if len(paths) > 1:
                await ws.send(json.dumps(evapi("offered", call_id="b-2")))
                await ws.wait_closed()
                second_done.set()
                return
            await ws.send(json.dumps(evapi("offered")))
            await ws.send("   ")  # keep-alive
            await ws.send("{oops")
            await ws.send(json.dumps(evapi("answered", ts=1764230405000)).encode())  # a binary frame is fine too
            await ws.send(json.dumps(evapi("parked")))
            await ws.send(json.dumps({"event": "ended", "ts": 1764230460000}))  # no call id
            await ws.send(json.dumps(evapi("ended", ts=1764230460000)))
            await wait_until(lambda: rec.handled() >= 6, what="all six messages handled")
            # returning closes the connection normally; the source must come back

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            url = f"ws://127.0.0.1:{port}/events"
            source = JsonStreamSource("evapi", url, KAMAILIO, rec.intake, rec.on_link, 0.2)
            try:
                source.start()
                await wait_until(lambda: len(rec.events) == 4, timeout=15, what="the event after the reconnect")
            finally:
                await source.stop()
                await asyncio.wait_for(second_done.wait(), 10)
        return rec, paths

    rec, paths = asyncio.run(scenario())
    assert paths == ["/events", "/events"]
    kinds = [(e.kind, e.call_id) for e in rec.events]
    assert kinds == [
        (CallEventKind.OFFERED, CALL),
        (CallEventKind.ANSWERED, CALL),
        (CallEventKind.ENDED, CALL),
        (CallEventKind.OFFERED, "b-2"),
    ]
    assert rec.events[0].ani == ANI and rec.events[0].dnis == DNIS
    assert rec.intake.rejected == {"malformed JSON": 1, "unknown event kind": 1, "missing call_id": 1}
    assert rec.states[:5] == [
        LinkState.CONNECTING,
        LinkState.UP,
        LinkState.DOWN,
        LinkState.CONNECTING,
        LinkState.UP,
    ]
    assert rec.links[-1] == (LinkState.DOWN, "stopped")


def test_a_server_that_is_not_there_keeps_the_link_retrying_without_events() -> None:
    async def scenario() -> Recorder:
        rec = Recorder()
        server, port = await tcp_server(close_writer_handler)
        server.close()
        await server.wait_closed()  # the port is now closed: connection refused
        source = JsonStreamSource("evapi", f"tcp://127.0.0.1:{port}", KAMAILIO, rec.intake, rec.on_link, 0.2)
        try:
            source.start()
            await wait_until(lambda: rec.states.count(LinkState.DOWN) >= 2, what="two failed attempts")
        finally:
            await source.stop()
        return rec

    rec = asyncio.run(scenario())
    assert LinkState.UP not in rec.states
    assert rec.states[:4] == [LinkState.CONNECTING, LinkState.DOWN, LinkState.CONNECTING, LinkState.DOWN]
    assert "ConnectionRefusedError" in rec.links[1][1]
    assert rec.events == [] and not rec.intake.rejected


async def close_writer_handler(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await close_writer(writer)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/events", "tcp://127.0.0.1", "tcp://:9000", "127.0.0.1:9000"])
def test_a_url_the_source_cannot_use_is_refused_up_front(url: str) -> None:
    with pytest.raises(ValueError, match="url"):
        JsonStreamSource("evapi", url, KAMAILIO, CallIntake(lambda _e: None))
