"""Load on the webhook (issue 9), for benchmarks/call_events.py: many concurrent connections, and sustained ingest.

Senders are raw asyncio HTTP/1.1 clients in other processes (CTI middleware is another program); each request's
latency is measured on CLOCK_MONOTONIC (time.perf_counter), the same clock in every process. A prober process
asks GET /v1/health every 20 ms throughout. The same load runs against a bare h11 handler in the same run.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

CONNECT_TIMEOUT = 5.0
ANSWER_TIMEOUT = 10.0
KINDS = ("offered", "answered", "ended")


def request_bytes(token: str, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        "POST /v1/call-events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def one_call(port: int, token: str, call_id: str, ani: str) -> dict[str, Any]:
    """One connection delivering one call's three events in order (keep-alive)."""
    outcome: dict[str, Any] = {"latencies": [], "statuses": [], "connect_failed": False}
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        outcome["connect_failed"] = True
        return outcome
    try:
        for kind in KINDS:
            begun = time.perf_counter()
            writer.write(request_bytes(token, {"event": kind, "call_id": call_id, "ani": ani}))
            status = await asyncio.wait_for(read_answer(reader), ANSWER_TIMEOUT)
            outcome["latencies"].append(time.perf_counter() - begun)
            outcome["statuses"].append(status)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        outcome["statuses"].append(0)  # no answer
    finally:
        writer.close()
    return outcome


def burst_lane(port: int, token: str, calls: list[tuple[str, str]], start_at: float) -> list[dict[str, Any]]:
    """One sender process: all its calls' connections opened at `start_at`, at once."""

    async def run() -> list[dict[str, Any]]:
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        return list(await asyncio.gather(*(one_call(port, token, cid, ani) for cid, ani in calls)))

    return asyncio.run(run())


def sustained_lane(
    port: int, token: str, lane: int, connections: int, calls_each: int, start_at: float
) -> tuple[int, float, int]:
    """`connections` keep-alive connections, each sending `calls_each` calls' events back to back as fast as the
    server answers. Returns (events answered 202, time of the last answer, failures)."""

    async def connection(index: int) -> tuple[int, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ok = failed = 0
        try:
            for call in range(calls_each):
                call_id = f"s{lane}-{index}-{call}"
                for kind in KINDS:
                    writer.write(request_bytes(token, {"event": kind, "call_id": call_id, "ani": "+16175550123"}))
                    if await read_answer(reader) == 202:
                        ok += 1
                    else:
                        failed += 1
        finally:
            writer.close()
        return ok, failed

    async def run() -> tuple[int, float, int]:
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        results = await asyncio.gather(*(connection(i) for i in range(connections)))
        return sum(r[0] for r in results), time.perf_counter(), sum(r[1] for r in results)

    return asyncio.run(run())


def probe_health(port: int, token: str, start_at: float, until: float) -> tuple[list[float], int]:
    """GET /v1/health every 20 ms from `start_at` to `until` (new connection each time, 2 s timeout): latencies
    and the number of probes that got no 200 in time."""

    async def run() -> tuple[list[float], int]:
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        latencies, failures = [], 0
        request = f"GET /v1/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        while time.perf_counter() < until:
            begun = time.perf_counter()
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
                writer.write(request)
                status = await asyncio.wait_for(read_answer(reader), 2)
                writer.close()
                if status != 200:
                    raise ValueError(status)
                latencies.append(time.perf_counter() - begun)
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
                failures += 1
            await asyncio.sleep(0.02)
        return latencies, failures

    return asyncio.run(run())
