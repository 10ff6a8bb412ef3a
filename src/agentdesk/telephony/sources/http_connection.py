"""One HTTP/1.1 connection of the local webhook, as an asyncio protocol around h11 (sans-IO, strict).

A protocol rather than a StreamReader/StreamWriter coroutine: under a burst of hundreds of connections the
coroutine machinery (a future per read, a task per timeout, a drain per answer) cost more of the webhook
thread than parsing did. Everything here runs on the webhook's own thread and loop.

Every method, path and framing gets an answer (h11's 400/431 hint, or what `route` says) or a clean close, and
no exception from one connection ever leaves it: a client can cost itself its connection, never the desk.
Bodies are capped before they are kept: a body over the cap is read and dropped (the client sees its 413) up to
DISCARD_LIMIT, past which the connection is dropped. A client that stops reading our answers stops being read
(flow control), and one that goes quiet for IDLE_TIMEOUT is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

import h11

log = logging.getLogger("agentdesk.telephony")
IDLE_TIMEOUT = 30.0
MAX_HEAD = 16384  # request line and headers; a larger head gets 431
DISCARD_LIMIT = 32_000_000  # past this a too-large body is not even drained: the connection is dropped

# (method, target, headers with lower-case names, body) -> (status, JSON payload, extra headers)
Route = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, Any], list[tuple[str, str]]]]


class HttpConnection(asyncio.Protocol):
    def __init__(self, route: Route, max_body: int, on_error: Callable[[], None], opened: set[HttpConnection]) -> None:
        self._route = route
        self._max_body = max_body
        self._on_error = on_error  # a bug in handling (logged here): counted by the server
        self._opened = opened
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._last_heard = self._loop.time()
        self._idle: asyncio.TimerHandle | None = None
        self._paused = False  # the client is not reading our answers: stop reading its requests
        self._eof = False  # the client half-closed while paused: answer what it sent, then close
        self._closed = False
        self._begin_request()

    def _begin_request(self) -> None:
        self._request: h11.Request | None = None
        self._body = bytearray()
        self._too_large = False
        self._seen = 0

    # -- asyncio.Protocol ---------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._opened.add(self)
        self._idle = self._loop.call_later(IDLE_TIMEOUT, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._opened.discard(self)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def data_received(self, data: bytes) -> None:
        self._last_heard = self._loop.time()
        self._guarded(data)

    def eof_received(self) -> bool:
        if self._paused:
            self._eof = True  # requests still buffered get their answers first (see resume_writing)
            return True
        self._end_of_input()
        return False

    def _end_of_input(self) -> None:
        if self._request is None:
            self.close()  # between requests, or gone before a whole request head arrived: nothing to answer
        else:
            self._guarded(b"")  # mid-request: h11 says how that ends (a 400)

    def pause_writing(self) -> None:
        self._paused = True
        if self._transport is not None and not self._closed:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        if self._transport is not None and not self._closed:
            self._transport.resume_reading()
            self._guarded(None)  # requests already buffered (pipelined) are answered now
            if self._eof and not self._paused:
                self._end_of_input()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._transport is not None:
                self._transport.close()  # what was written still goes out first

    # -- handling -----------------------------------------------------------------------------------------
    def _check_idle(self) -> None:
        quiet = self._loop.time() - self._last_heard
        if quiet >= IDLE_TIMEOUT:
            self._idle = None
            self.close()  # the client went quiet: nothing to answer
        else:
            self._idle = self._loop.call_later(IDLE_TIMEOUT - quiet, self._check_idle)

    def _guarded(self, data: bytes | None) -> None:
        """Feed bytes (b"": the end of input) and answer every request they complete; turn any failure into an
        answer or a close."""
        try:
            if data is not None:
                self._h11.receive_data(data)
            self._pump()
        except h11.RemoteProtocolError as exc:
            # 400 for broken framing, 431 for a head too large, ...: h11 knows which.
            hint = exc.error_status_hint
            self._refuse(hint if 400 <= hint < 500 else 400)
        except ConnectionError:
            self.close()  # a body far over the limit: not worth reading
        except Exception as exc:  # a bug must cost this one connection, never the app (nor reach the crash hook)
            self._on_error()
            log.error(
                "webhook: a connection failed (%s)\n%s",
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            self._refuse(400)

    def _pump(self) -> None:
        while not self._closed and not self._paused:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                if self._h11.they_are_waiting_for_100_continue and not self._too_large:
                    self._write(self._h11.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
                return
            if event is h11.PAUSED:
                return
            if isinstance(event, h11.ConnectionClosed):
                self.close()
                return
            if isinstance(event, h11.Request):
                self._take_head(event)
            elif isinstance(event, h11.Data):
                self._take_body(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._answer()

    def _take_head(self, request: h11.Request) -> None:
        if len(request.target) + sum(len(k) + len(v) + 4 for k, v in request.headers) > MAX_HEAD:
            # h11 only bounds a head that arrives in pieces; one that came whole is measured here.
            raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        self._request = request
        length = dict(request.headers).get(b"content-length", b"")
        self._too_large = length.isdigit() and int(length) > self._max_body

    def _take_body(self, data: bytes) -> None:
        self._seen += len(data)
        if self._seen > self._max_body:
            self._too_large = True
            self._body.clear()
            if self._seen > DISCARD_LIMIT:
                raise ConnectionError("request body far over the limit")
        elif not self._too_large:
            self._body += data

    def _answer(self) -> None:
        request = self._request
        assert request is not None
        method = request.method.decode("ascii", errors="replace")
        extra: list[tuple[str, str]] = []
        if self._too_large:
            status, payload = 413, {"error": f"body larger than {self._max_body} bytes"}
        else:
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
            status, payload, extra = self._route(method, request.target.decode("latin-1"), headers, bytes(self._body))
        self._respond(status, payload, extra, head=method == "HEAD")
        if self._h11.our_state is h11.MUST_CLOSE:
            self.close()
            return
        self._h11.start_next_cycle()
        self._begin_request()

    def _refuse(self, status: int) -> None:
        """A last answer before closing, when the connection can still carry one."""
        if self._h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(Exception):  # the connection is being dropped either way
                self._respond(status, {"error": "malformed HTTP request"}, [])
        self.close()

    def _respond(self, status: int, payload: dict[str, Any], extra: list[tuple[str, str]], head: bool = False) -> None:
        data = json.dumps(payload).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(data))), *extra]
        if status >= 400 and status not in (401, 404, 405):
            headers.append(("connection", "close"))
        # A HEAD request gets the headers a GET would, and no body (h11 refuses to send one).
        parts: list[Any] = [h11.Response(status_code=status, headers=headers)]
        if not head:
            parts.append(h11.Data(data=data))
        parts.append(h11.EndOfMessage())
        # One write, so one send() per response: separate writes cost a system call each under load.
        self._write(b"".join(self._h11.send(part) or b"" for part in parts))

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._closed:
            self._transport.write(data)
