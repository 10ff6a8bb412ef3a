"""A JSON event stream client: one JSON object per line over TCP, or one per message over WebSocket.

Used for Kamailio's evapi module (see the 'kamailio-evapi' preset) and any middleware that pushes JSON. The
link reconnects with doubling backoff and reports its state for the status bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.parsing import EventIgnored, EventRejected, StreamMapping, parse_stream_event
from agentdesk.telephony.sources import Backoff, LinkedSource, LinkListener, LinkState, skip_rest_of_line

log = logging.getLogger("agentdesk.telephony")
MAX_LINE = 65536


class JsonStreamSource(LinkedSource):
    task_prefix = "stream"

    def __init__(
        self,
        name: str,
        url: str,
        mapping: StreamMapping,
        intake: CallIntake,
        on_link: LinkListener | None = None,
        max_backoff: float = 30.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("tcp", "ws", "wss") or not parts.hostname or not parts.port:
            raise ValueError("url: must be tcp://host:port, ws://host:port/path or wss://...")
        super().__init__(name, on_link, max_backoff)
        self._url = url
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._mapping = mapping
        self._intake = intake

    async def _session(self, backoff: Backoff) -> None:
        if self._scheme == "tcp":
            await self._run_tcp(backoff)
        else:
            await self._run_websocket(backoff)

    async def _run_tcp(self, backoff: Backoff) -> None:
        reader, writer = await asyncio.open_connection(self._host, self._port, limit=MAX_LINE)
        self._set(LinkState.UP)
        backoff.reset()
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError as exc:
                    self._intake.reject(self.name, "line too long")
                    await skip_rest_of_line(reader, exc.consumed)  # drop the whole line, keep the link
                    continue
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        self._handle(exc.partial)
                    return
                self._handle(line)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _run_websocket(self, backoff: Backoff) -> None:
        from websockets.asyncio.client import connect

        async with connect(self._url, max_size=MAX_LINE, open_timeout=10) as socket:
            self._set(LinkState.UP)
            backoff.reset()
            async for message in socket:
                self._handle(message)

    def _handle(self, data: bytes | str) -> None:
        if not data.strip():
            return  # keep-alive blank lines
        try:
            event = parse_stream_event(data, self._mapping, self.name)
        except EventIgnored as exc:
            self._intake.ignore(exc.reason)
            return
        except EventRejected as exc:
            self._intake.reject(self.name, exc.reason)
            return
        except ValueError:
            self._intake.reject(self.name, "invalid event")
            return
        self._intake.accept(event)
