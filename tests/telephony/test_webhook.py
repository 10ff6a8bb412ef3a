"""The local webhook over real HTTP on 127.0.0.1: the documented schema, the token, and bad input."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from agentdesk.telephony.events import CallEvent, CallEventKind
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.sources.webhook import WebhookServer

TOKEN = "t" * 43
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OFFERED = {
    "event": "offered",
    "call_id": "cti-42",
    "ani": "+16175550123",
    "dnis": "+18005550142",
    "queue": "cardiology",
    "campaign": "HEART-TV",
    "attributes": {"language": "es"},
    "timestamp": "2026-11-27T09:00:00Z",
}


def serve(scenario: Callable[[str, CallIntake, list[CallEvent]], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        events: list[CallEvent] = []
        intake = CallIntake(events.append)
        server = WebhookServer(intake, TOKEN, port=0, max_body_bytes=65536)
        await server.start()
        try:
            return await scenario(f"http://127.0.0.1:{server.port}", intake, events)
        finally:
            await server.stop()

    return asyncio.run(run())


def test_a_documented_event_is_accepted() -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{base}/v1/call-events", json=OFFERED, headers=AUTH)
            health = await client.get(f"{base}/v1/health", headers=AUTH)
        assert response.status_code == 202 and response.json() == {"accepted": True}
        assert health.json()["status"] == "ok"
        (event,) = events
        assert (event.kind, event.call_id, event.ani, event.dnis, event.queue, event.campaign) == (
            CallEventKind.OFFERED,
            "cti-42",
            "+16175550123",
            "+18005550142",
            "cardiology",
            "HEART-TV",
        )
        assert event.attributes == {"language": "es"} and event.source == "webhook"
        assert event.occurred_at.isoformat() == "2026-11-27T09:00:00+00:00"

    serve(scenario)


def test_listens_on_loopback_only() -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        port = int(base.rsplit(":", 1)[1])
        async with httpx.AsyncClient() as client:  # reachable where it should be: it answers there
            assert (await client.get(f"{base}/v1/health")).status_code < 500
        # (A bare connect closed at once would leave the server stopping while it accepts: a socket only the
        # collector closes, reported in whichever later test it runs.)
        # Another address of this host must not reach it. 127.0.0.2 is one on every Linux host (the whole 127/8
        # is local), so this holds even where the host has no other address: a server bound to all addresses
        # would answer there.
        addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
        addresses = {"127.0.0.2"} | (addresses - {"127.0.0.1"})
        for address in sorted(addresses):
            with pytest.raises(OSError), socket.create_connection((address, port), timeout=1):
                pass

    serve(scenario)


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason", "names"),
    [
        (b'{"event": "offered", "call_id": ', {}, 400, "malformed JSON", "JSON"),
        (b"\xff\xfe\x00bad", {}, 400, "not UTF-8", "UTF-8"),
        (json.dumps({**OFFERED, "event": "teleported"}).encode(), {}, 400, "unknown event kind", "'event'"),
        (
            json.dumps({k: v for k, v in OFFERED.items() if k != "call_id"}).encode(),
            {},
            400,
            "missing call_id",
            "'call_id'",
        ),
        (json.dumps({**OFFERED, "ani": "617\x00555"}).encode(), {}, 400, "bad ani", "'ani'"),
        (json.dumps({**OFFERED, "call_id": "cti-\ud800"}).encode(), {}, 400, "bad call_id", "'call_id'"),
        (json.dumps({**OFFERED, "timestamp": "yesterday"}).encode(), {}, 400, "bad timestamp", "'timestamp'"),
        (
            json.dumps(OFFERED).encode(),
            {"Authorization": "Bearer wrong-token-000000000"},
            401,
            "wrong or missing token",
            "token",
        ),
        (json.dumps(OFFERED).encode(), {"Authorization": ""}, 401, "wrong or missing token", "token"),
        (json.dumps(OFFERED).encode(), {"Content-Type": "text/plain"}, 415, "not JSON", "content-type"),
    ],
)
def test_bad_requests_are_refused_counted_and_never_delivered(
    body: bytes, headers: dict[str, str], status: int, reason: str, names: str
) -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{base}/v1/call-events",
                content=body,
                headers={"Content-Type": "application/json", **AUTH, **headers},
            )
            # The listener is still there and still takes good events afterwards.
            after = await client.post(f"{base}/v1/call-events", json=OFFERED, headers=AUTH)
        assert response.status_code == status
        assert names in response.json()["error"]
        assert "6175550123" not in response.text
        assert intake.rejected[reason] == 1
        assert after.status_code == 202 and len(events) == 1

    serve(scenario)


def test_a_10_mb_body_is_refused_before_it_is_read() -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        async with httpx.AsyncClient() as client:
            big = b'{"event": "offered", "call_id": "x", "pad": "' + b"a" * 10_000_000 + b'"}'
            try:
                response = await client.post(
                    f"{base}/v1/call-events", content=big, headers={"Content-Type": "application/json", **AUTH}
                )
                assert response.status_code == 413
            except httpx.WriteError:
                pass  # the server answered 413 and closed while the client was still sending: also a refusal
            after = await client.post(f"{base}/v1/call-events", json=OFFERED, headers=AUTH)
        assert after.status_code == 202 and [e.call_id for e in events] == ["cti-42"]

    serve(scenario)


def test_wrong_method_and_path() -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/v1/call-events", headers=AUTH)).status_code == 405
            assert (await client.post(f"{base}/v2/whatever", json={}, headers=AUTH)).status_code == 404
        assert events == []

    serve(scenario)


def test_garbage_bytes_on_the_socket_get_400() -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(1000), 5)
        writer.close()
        await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.1 400")
        assert events == []

    serve(scenario)


def test_keep_alive_burst_of_events_in_order() -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        async with httpx.AsyncClient() as client:
            for index in range(200):
                kind = ("offered", "answered", "ended")[index % 3]
                response = await client.post(
                    f"{base}/v1/call-events",
                    headers=AUTH,
                    json={"event": kind, "call_id": f"c{index // 3}", "ani": "+16175550123"},
                )
                assert response.status_code == 202
        assert [e.kind.value for e in events[:3]] == ["offered", "answered", "ended"]
        assert len(events) == 200 and sum(intake.accepted.values()) == 200

    serve(scenario)


def test_pop_endpoint_offers_a_call() -> None:
    async def scenario(base: str, intake: CallIntake, events: list[CallEvent]) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{base}/v1/pop", json={"ani": "6175550123", "dnis": "8005550142"}, headers=AUTH
            )
            missing = await client.post(f"{base}/v1/pop", json={"dnis": "8005550142"}, headers=AUTH)
        assert response.status_code == 202 and missing.status_code == 400
        (event,) = events
        assert event.kind is CallEventKind.OFFERED and event.source == "pop" and event.ani == "6175550123"
        assert event.call_id == response.json()["call_id"]

    serve(scenario)


def test_connections_arriving_as_the_server_stops_are_all_closed() -> None:
    """Clients that connect in the very turn the desk quits get a closed connection, never a socket left to the
    collector (Python 3.11 refuses to attach a transport made after `Server.close()` and leaks its socket)."""
    import gc
    import warnings

    async def run() -> list[str]:
        intake = CallIntake(lambda event: None)
        leaked: list[str] = []
        for _ in range(15):
            server = WebhookServer(intake, TOKEN, port=0)
            await server.start()
            clients = [socket.socket() for _ in range(40)]
            for client in clients:
                client.setblocking(False)
                client.connect_ex(("127.0.0.1", server.port))  # in flight while the server stops
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ResourceWarning)
                await server.stop()
                gc.collect()
            leaked += [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
            for client in clients:
                client.close()
        return leaked

    assert asyncio.run(run()) == []
