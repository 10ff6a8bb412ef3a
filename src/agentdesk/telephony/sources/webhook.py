"""The local webhook: HTTP on 127.0.0.1 only, authenticated by a per-install bearer token.

CTI middleware (Genesys, Amazon Connect, Twilio, Cisco Finesse workflows) hands calls to a desktop this way.
HTTP parsing is h11's (sans-IO, strict); bodies are capped before they are read whole. Every method, path and
framing gets an answer (405 with Allow, 404, 400, 413, 431...) or a clean close, and no exception from one
connection ever leaves it: a client can cost itself its connection, never the desk.

The server runs on a thread of its own with its own event loop, so it keeps accepting, answering and
`/v1/health` keeps responding while the GUI thread is busy; accepted events are handed to the desk's loop in
batches (one wake-up per batch, however many events arrived meanwhile).

    POST /v1/call-events   one call event (JSON, see README)       -> 202 / 400 / 401 / 413 / 415
    POST /v1/pop           {"ani", "dnis", "campaign"}: a screen pop -> 202
    POST /v1/focus         bring the window to the front (a second start of the app)
    POST /v1/instance/proof {"challenge": hex}: HMAC of it with this run's instance secret (no token needed:
                           a second start asks for it before it sends the token; see agentdesk.instance)
    GET  /v1/health        {"status": "ok", "version": ...}
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import h11

from agentdesk import __version__
from agentdesk.telephony.events import pop_event
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.parsing import EventRejected, decode_json_object, parse_pop_request, parse_webhook_event

log = logging.getLogger("agentdesk.telephony")
LOOPBACK = "127.0.0.1"
READ_CHUNK = 65536
IDLE_TIMEOUT = 30.0
SLICE_SECONDS = 0.008  # the longest the desk's loop spends on queued events before it lets Qt paint
MAX_HEAD = 16384  # request line and headers; a larger head gets 431
DISCARD_LIMIT = 32_000_000  # past this a too-large body is not even drained: the connection is dropped
PROOF_PATH = "/v1/instance/proof"
PROOF_LABEL = b"agentdesk-instance-proof\x00"


def prove(secret: bytes, challenge: bytes) -> str:
    """The running instance's answer to a second start's challenge: HMAC-SHA256(secret, label + challenge)."""
    return hmac.new(secret, PROOF_LABEL + challenge, hashlib.sha256).hexdigest()


ROUTES = {"/v1/call-events": "POST", "/v1/pop": "POST", "/v1/focus": "POST", "/v1/health": "GET"}
# The answer to an accepted call event, by far the most frequent one: h11's events are immutable, so it is built
# once, and a steady stream pays neither json.dumps nor h11's header validation for each request.
ACCEPTED: dict[str, Any] = {"accepted": True}
_ACCEPTED_BODY = json.dumps(ACCEPTED).encode()
_ACCEPTED_PARTS = (
    h11.Response(
        status_code=202,
        headers=[("content-type", "application/json"), ("content-length", str(len(_ACCEPTED_BODY)))],
    ),
    h11.Data(data=_ACCEPTED_BODY),
    h11.EndOfMessage(),
)


class _HandOff:
    """Carries what the server thread learnt (accepted events, rejections, focus requests) to the desk's loop:
    items queue under a lock, and one call_soon_threadsafe per batch runs them in arrival order."""

    def __init__(self, intake: CallIntake, on_focus: Callable[[], None] | None) -> None:
        self._intake = intake
        self._on_focus = on_focus
        self._home: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[str, Any]] = []
        self._scheduled = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._home = loop

    def put(self, what: str, item: Any = None) -> None:
        with self._lock:
            self._pending.append((what, item))
            if self._scheduled:
                return
            self._scheduled = True
        assert self._home is not None
        with contextlib.suppress(RuntimeError):  # the desk's loop is closing: nothing is listening any more
            self._home.call_soon_threadsafe(self.run)

    def deliver_all(self) -> None:
        while self._pending:
            self.run()

    def run(self) -> None:
        """On the desk's loop: deliver what is queued, in slices of at most SLICE_SECONDS, so a burst of a
        thousand events never holds the GUI thread for longer than a frame at a time."""
        with self._lock:
            batch, self._pending = self._pending, []
            self._scheduled = False
        deadline = time.perf_counter() + SLICE_SECONDS
        for index, (what, item) in enumerate(batch):
            if index and time.perf_counter() > deadline:
                with self._lock:  # the rest goes first in the next slice, ahead of anything newer
                    self._pending[:0] = batch[index:]
                    again = not self._scheduled
                    self._scheduled = True
                if again and self._home is not None:
                    self._home.call_soon(self.run)
                return
            try:
                if what == "accept":
                    self._intake.accept(item)
                elif what == "reject":
                    self._intake.reject("webhook", item)
                elif what == "focus" and self._on_focus is not None:
                    self._on_focus()
            except Exception:  # one event's failure downstream must not drop the rest of the batch
                log.error("delivering a webhook %s failed:\n%s", what, "".join(traceback.format_exc(limit=8)))


class WebhookServer:
    def __init__(
        self,
        intake: CallIntake,
        token: str,
        port: int = 0,
        max_body_bytes: int = 65536,
        on_focus: Callable[[], None] | None = None,
        instance_secret: bytes | None = None,
    ) -> None:
        if len(token) < 16:
            raise ValueError("token: at least 16 characters")
        self._handoff = _HandOff(intake, on_focus)
        self._token = token.encode()
        self._port = port
        self._max_body = max_body_bytes
        self._instance_secret = instance_secret
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.connection_errors = 0  # connections ended by an unexpected exception (logged, never raised)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the webhook is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen (on its own thread); returns once the port is bound. Raises OSError when it cannot be."""
        self._handoff.bind(asyncio.get_running_loop())
        loop = asyncio.new_event_loop()
        bound: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        home = asyncio.get_running_loop()

        def report(error: BaseException | None) -> None:
            if not bound.done():
                bound.set_exception(error) if error is not None else bound.set_result(None)

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                # Loopback only, whatever the config says: the webhook must never be reachable from the network.
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve, LOOPBACK, self._port, limit=READ_CHUNK, backlog=1024)
                )
            except BaseException as exc:
                home.call_soon_threadsafe(report, exc)
                loop.close()
                return
            home.call_soon_threadsafe(report, None)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="webhook", daemon=True)
        self._thread.start()
        try:
            await bound
        except BaseException:
            await asyncio.to_thread(self._thread.join)
            self._thread = self._loop = None
            raise
        log.info("webhook listening on %s:%d", LOOPBACK, self.port)

    async def stop(self) -> None:
        """Stop listening, end open connections, and deliver what was already accepted."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._close(), loop)
        await asyncio.wrap_future(future)
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        self._loop = self._thread = None
        self._server = None
        self._handoff.deliver_all()  # whatever was accepted before the close reaches the desk now

    async def _close(self) -> None:
        server = self._server
        if server is None:
            return
        # Stop accepting first, then let connections accepted in the last loop turns be made before closing the
        # server: on Python 3.11 a transport made after `Server.close()` fails an assertion in `Server._attach`
        # and its socket is left to the collector (an open connection nobody answers or closes).
        loop = asyncio.get_running_loop()
        for sock in server.sockets:
            with contextlib.suppress(NotImplementedError, ValueError):  # the proactor loop has no readers
                loop.remove_reader(sock.fileno())
        await self._settle()
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    async def _settle(self, max_turns: int = 200) -> None:
        """Yield until every task on this loop is a connection that has started serving (so cancelling it runs
        its `finally`, which closes the socket): accepts still being made and handlers not yet started finish."""
        me = asyncio.current_task()
        for _ in range(max_turns):
            if all(task is me or task in self._connections for task in asyncio.all_tasks()):
                return
            await asyncio.sleep(0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        try:
            while True:
                request = await self._next_request(connection, reader, writer)
                if request is None:
                    break
                method, target, headers, body, too_large = request
                status, payload, extra = (
                    (413, {"error": f"body larger than {self._max_body} bytes"}, [])
                    if too_large
                    else self._route(method, target, headers, body)
                )
                await self._respond(connection, writer, status, payload, extra, head=method == "HEAD")
                if connection.our_state is h11.MUST_CLOSE:
                    break
                connection.start_next_cycle()
        except h11.RemoteProtocolError as exc:
            # 400 for broken framing, 431 for a head too large, ...: h11 knows which.
            status = exc.error_status_hint if 400 <= exc.error_status_hint < 500 else 400
            await self._refuse(connection, writer, status)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or went quiet: nothing to answer
        except asyncio.CancelledError:
            pass  # the server is stopping
        except Exception as exc:  # a bug must cost this one connection, never the app (and never reach the crash hook)
            self.connection_errors += 1
            log.error(
                "webhook: a connection failed (%s)\n%s",
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            await self._refuse(connection, writer, 400)
        finally:
            writer.close()
            # Cancelled while closing (the server stops): still a clean end, never an error for the loop's handler.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._connections.discard(task)

    async def _refuse(self, connection: h11.Connection, writer: asyncio.StreamWriter, status: int) -> None:
        """A last answer before closing, when the connection can still carry one."""
        if connection.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return  # mid-response or failed on our side: closing is the clean end
        with contextlib.suppress(Exception):
            await self._respond(connection, writer, status, {"error": "malformed HTTP request"}, [])

    async def _next_request(
        self, connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, str, dict[str, str], bytes, bool] | None:
        """The next request: method, target, headers, body, and whether the body was over the cap (then the
        body is read and dropped, never kept, up to DISCARD_LIMIT, so the client sees the 413)."""
        request: h11.Request | None = None
        body = bytearray()
        too_large = False
        seen = 0
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                if connection.they_are_waiting_for_100_continue and not too_large:
                    writer.write(connection.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
                async with asyncio.timeout(IDLE_TIMEOUT):  # no task per read, as wait_for makes in 3.11
                    data = await reader.read(READ_CHUNK)
                if not data and request is None:
                    return None
                connection.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Request):
                if len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers) > MAX_HEAD:
                    # h11 only bounds a head that arrives in pieces; one that came whole is measured here.
                    raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
                request = event
                length = dict(event.headers).get(b"content-length", b"")
                too_large = length.isdigit() and int(length) > self._max_body
            elif isinstance(event, h11.Data):
                seen += len(event.data)
                if seen > self._max_body:
                    too_large = True
                    body.clear()
                    if seen > DISCARD_LIMIT:
                        raise ConnectionError("request body far over the limit")
                elif not too_large:
                    body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
                method = request.method.decode("ascii", errors="replace")
                return method, request.target.decode("latin-1"), headers, bytes(body), too_large

    def _authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("latin-1"), self._token)

    def _route(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        path = target.split("?", 1)[0]
        if path == PROOF_PATH and method == "POST" and self._instance_secret is not None:
            return (*self._prove(body), [])
        wanted = ROUTES.get(path)
        if wanted is None:
            return 404, {"error": "no such endpoint"}, []
        allowed = "GET, HEAD" if wanted == "GET" else wanted
        if method != wanted and not (method == "HEAD" and wanted == "GET"):
            return 405, {"error": f"use {wanted}"}, [("allow", allowed)]
        if not self._authorised(headers):
            self._handoff.put("reject", "wrong or missing token")
            return 401, {"error": "missing or wrong bearer token"}, [("www-authenticate", "Bearer")]
        if wanted == "POST" and "json" not in headers.get("content-type", "").lower():
            self._handoff.put("reject", "not JSON")
            return 415, {"error": "content-type must be application/json"}, []
        handler = {
            "/v1/call-events": self._call_event,
            "/v1/pop": self._pop,
            "/v1/focus": self._focus,
            "/v1/health": self._health,
        }[path]
        status, payload = handler(body)
        return status, payload, []

    def _call_event(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            event = parse_webhook_event(body)
        except EventRejected as exc:
            self._handoff.put("reject", exc.reason)
            return 400, {"error": str(exc)}
        except ValueError as exc:  # CallEvent's own checks name the field too
            self._handoff.put("reject", "invalid event")
            return 400, {"error": str(exc)}
        self._handoff.put("accept", event)
        return 202, ACCEPTED

    def _pop(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            ani, dnis, campaign, truncated = parse_pop_request(body)
        except EventRejected as exc:
            self._handoff.put("reject", exc.reason)
            return 400, {"error": str(exc)}
        event = pop_event(ani, dnis, campaign, ani_truncated=truncated)
        self._handoff.put("accept", event)
        self._handoff.put("focus")
        return 202, {"accepted": True, "call_id": event.call_id}

    def _prove(self, body: bytes) -> tuple[int, dict[str, Any]]:
        assert self._instance_secret is not None
        try:
            challenge = bytes.fromhex(str(decode_json_object(body).get("challenge", "")))
        except (EventRejected, ValueError):
            return 400, {"error": "'challenge' must be hex"}
        if not 16 <= len(challenge) <= 64:
            return 400, {"error": "'challenge' must be 16 to 64 bytes"}
        return 200, {"proof": prove(self._instance_secret, challenge)}

    def _focus(self, _body: bytes) -> tuple[int, dict[str, Any]]:
        self._handoff.put("focus")
        return 200, {"focused": True}

    def _health(self, _body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "version": __version__}

    @staticmethod
    async def _respond(
        connection: h11.Connection,
        writer: asyncio.StreamWriter,
        status: int,
        payload: dict[str, Any],
        extra: list[tuple[str, str]],
        head: bool = False,
    ) -> None:
        if payload is ACCEPTED and status == 202 and not extra and not head:
            writer.write(b"".join(connection.send(part) or b"" for part in _ACCEPTED_PARTS))
            await writer.drain()
            return
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
        writer.write(b"".join(connection.send(part) or b"" for part in parts))
        await writer.drain()
