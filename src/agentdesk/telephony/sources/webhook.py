"""The local webhook: HTTP on 127.0.0.1 only, authenticated by a per-install bearer token.

CTI middleware (Genesys, Amazon Connect, Twilio, Cisco Finesse workflows) hands calls to a desktop this way.
HTTP parsing is h11's (sans-IO, strict); bodies are capped before they are read whole.

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
from collections.abc import Callable
from typing import Any

import h11

from agentdesk import __version__
from agentdesk.telephony.events import pop_event
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.parsing import MAX_NUMBER, MAX_TEXT, EventRejected, decode_json_object, parse_webhook_event

log = logging.getLogger("agentdesk.telephony")
LOOPBACK = "127.0.0.1"
READ_CHUNK = 65536
IDLE_TIMEOUT = 30.0
DISCARD_LIMIT = 32_000_000  # past this a too-large body is not even drained: the connection is dropped
PROOF_PATH = "/v1/instance/proof"
PROOF_LABEL = b"agentdesk-instance-proof\x00"


def prove(secret: bytes, challenge: bytes) -> str:
    """The running instance's answer to a second start's challenge: HMAC-SHA256(secret, label + challenge)."""
    return hmac.new(secret, PROOF_LABEL + challenge, hashlib.sha256).hexdigest()


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
        self._intake = intake
        self._token = token.encode()
        self._port = port
        self._max_body = max_body_bytes
        self._on_focus = on_focus
        self._instance_secret = instance_secret
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the webhook is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        # Loopback only, whatever the config says: the webhook must never be reachable from the network.
        self._server = await asyncio.start_server(self._serve, LOOPBACK, self._port, limit=READ_CHUNK)
        log.info("webhook listening on %s:%d", LOOPBACK, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=16384)
        try:
            while True:
                request = await self._next_request(connection, reader)
                if request is None:
                    break
                method, target, headers, body, too_large = request
                status, payload = (
                    (413, {"error": f"body larger than {self._max_body} bytes"})
                    if too_large
                    else (self._route(method, target, headers, body))
                )
                await self._respond(connection, writer, status, payload)
                if connection.our_state is h11.MUST_CLOSE:
                    break
                connection.start_next_cycle()
        except (h11.RemoteProtocolError, ConnectionError, TimeoutError):
            with contextlib.suppress(Exception):
                if connection.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await self._respond(connection, writer, 400, {"error": "malformed HTTP request"})
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._connections.discard(task)

    async def _next_request(
        self, connection: h11.Connection, reader: asyncio.StreamReader
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
                data = await asyncio.wait_for(reader.read(READ_CHUNK), IDLE_TIMEOUT)
                if not data and request is None:
                    return None
                connection.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Request):
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
                return request.method.decode(), request.target.decode("latin-1"), headers, bytes(body), too_large

    def _authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._token)

    def _route(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        path = target.split("?", 1)[0]
        routes = {
            "/v1/call-events": ("POST", self._call_event),
            "/v1/pop": ("POST", self._pop),
            "/v1/focus": ("POST", self._focus),
            "/v1/health": ("GET", self._health),
        }
        if path == PROOF_PATH and method == "POST" and self._instance_secret is not None:
            return self._prove(body)
        if path not in routes:
            return 404, {"error": "no such endpoint"}
        wanted, handler = routes[path]
        if method != wanted:
            return 405, {"error": f"use {wanted}"}
        if not self._authorised(headers):
            self._intake.reject("webhook", "wrong or missing token")
            return 401, {"error": "missing or wrong bearer token"}
        if method == "POST" and "json" not in headers.get("content-type", "").lower():
            self._intake.reject("webhook", "not JSON")
            return 415, {"error": "content-type must be application/json"}
        return handler(body)

    def _call_event(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            event = parse_webhook_event(body)
        except EventRejected as exc:
            self._intake.reject("webhook", exc.reason)
            return 400, {"error": str(exc)}
        except ValueError as exc:  # CallEvent's own checks name the field too
            self._intake.reject("webhook", "invalid event")
            return 400, {"error": str(exc)}
        self._intake.accept(event)
        return 202, {"accepted": True}

    def _pop(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            payload = decode_json_object(body)
            ani, dnis, campaign = (payload.get(key, "") for key in ("ani", "dnis", "campaign"))
            for key, value, limit in (
                ("ani", ani, MAX_NUMBER),
                ("dnis", dnis, MAX_NUMBER),
                ("campaign", campaign, MAX_TEXT),
            ):
                if not isinstance(value, str) or len(value) > limit:
                    raise EventRejected(f"bad {key}", f"'{key}' must be a string of at most {limit} characters")
            if not ani:
                raise EventRejected("missing ani", "'ani' is required")
        except EventRejected as exc:
            self._intake.reject("pop", exc.reason)
            return 400, {"error": str(exc)}
        event = pop_event(ani, dnis, campaign)
        self._intake.accept(event)
        if self._on_focus:
            self._on_focus()
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
        if self._on_focus:
            self._on_focus()
        return 200, {"focused": True}

    def _health(self, _body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "version": __version__}

    @staticmethod
    async def _respond(
        connection: h11.Connection, writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]
    ) -> None:
        data = json.dumps(payload).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
        if status >= 400 and status not in (401, 404, 405):
            headers.append(("connection", "close"))
        # One write, so one send() per response: separate writes cost a system call each under load.
        parts = (h11.Response(status_code=status, headers=headers), h11.Data(data=data), h11.EndOfMessage())
        writer.write(b"".join(connection.send(part) or b"" for part in parts))
        await writer.drain()
