"""Asterisk Manager Interface client (TCP, open protocol): log in, read queue and channel events.

AMI messages are blocks of `Key: Value` lines ended by a blank line; the server greets with a banner line.
Queue calls are followed through AgentCalled (offered to an agent), AgentConnect (answered), AgentComplete /
AgentRingNoAnswer / Hangup (ended), Hold / Unhold, and the transfer events. The call id is the Linkedid, which
stays the same across the channels of one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from types import MappingProxyType

from agentdesk.telephony.events import CallEvent, CallEventKind
from agentdesk.telephony.intake import CallIntake
from agentdesk.telephony.parsing import MAX_ID, MAX_NUMBER, MAX_TEXT, clean_free_text, text_problem
from agentdesk.telephony.sources import (
    Backoff,
    LinkedSource,
    LinkListener,
    LinkRefused,
    LinkState,
    skip_rest_of_line,
)

log = logging.getLogger("agentdesk.telephony")
MAX_MESSAGE_LINES = 200
MAX_LINE = 8192

EVENT_KINDS: Mapping[str, CallEventKind] = MappingProxyType(
    {
        "agentcalled": CallEventKind.OFFERED,
        "agentconnect": CallEventKind.ANSWERED,
        "agentcomplete": CallEventKind.ENDED,
        "agentringnoanswer": CallEventKind.ENDED,
        "hangup": CallEventKind.ENDED,
        "hold": CallEventKind.HELD,
        "unhold": CallEventKind.RESUMED,
        "blindtransfer": CallEventKind.TRANSFERRED,
        "attendedtransfer": CallEventKind.TRANSFERRED,
    }
)
AGENT_EVENTS = ("agentcalled", "agentconnect", "agentcomplete", "agentringnoanswer")


class AmiLoginRefused(LinkRefused):
    def __init__(self) -> None:
        super().__init__("login refused: check the AMI user and its credential")


def parse_message(lines: list[str]) -> dict[str, str]:
    """One AMI message; keys are case-insensitive in practice, so they are lower-cased here."""
    message: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            message.setdefault(key.strip().lower(), value.strip())
    return message


def event_from_message(message: Mapping[str, str], source: str, agent_interface: str = "") -> CallEvent | None:
    """The CallEvent an AMI event means for this agent's desktop, or None when it means nothing here."""
    name = message.get("event", "").lower()
    kind = EVENT_KINDS.get(name)
    if kind is None:
        return None
    call_id = (
        message.get("linkedid")
        or message.get("uniqueid")
        # Asterisk's transfer events only carry prefixed ids.
        or message.get("transfererlinkedid")
        or message.get("origtransfererlinkedid")
        or ""
    )
    if not call_id or len(call_id) > MAX_ID or text_problem(call_id):
        raise ValueError("call_id: the event has no usable Linkedid/Uniqueid")
    interface = message.get("interface") or message.get("membername") or ""
    attributes: dict[str, str] = {}
    if name == "hangup" and agent_interface:
        # With ring-all, Asterisk hangs up the other agents' ringing legs (Cause 26) on the same Linkedid just
        # before AgentConnect: only the caller's channel or this agent's own leg ends the call here.
        channel = message.get("channel", "").lower()
        callers_channel = message.get("uniqueid") == message.get("linkedid")
        own_leg = channel.startswith(agent_interface.lower() + "-")
        if not (callers_channel or own_leg):
            return None
        if message.get("cause") == "26":
            attributes["reason"] = "answered elsewhere"
    if name in AGENT_EVENTS and agent_interface and interface.lower() != agent_interface.lower():
        if kind is not CallEventKind.ANSWERED:
            return None  # another agent's ringing or wrap-up
        attributes["answered_elsewhere"] = "1"  # ring-all: someone else took it; it leaves this desktop
    if name == "agentringnoanswer":
        attributes["reason"] = "ring no answer"
    # Kept as sent ('<unknown>', 'anonymous', a name...): the tracker says what it means; only cut and cleaned.
    ani = clean_free_text(message.get("calleridnum", "")).strip()
    return CallEvent(
        kind=kind,
        call_id=call_id,
        ani=ani[:MAX_NUMBER],
        ani_truncated=len(ani) > MAX_NUMBER,
        dnis=clean_free_text(message.get("exten", ""))[:MAX_NUMBER] if kind is CallEventKind.OFFERED else "",
        queue=clean_free_text(message.get("queue", ""))[:MAX_TEXT],
        agent=clean_free_text(interface)[:MAX_TEXT],
        attributes=MappingProxyType(attributes),
        source=source,
    )


class AmiSource(LinkedSource):
    task_prefix = "ami"

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        username: str,
        secret: str,
        intake: CallIntake,
        agent_interface: str = "",
        on_link: LinkListener | None = None,
        max_backoff: float = 30.0,
    ) -> None:
        super().__init__(name, on_link, max_backoff)
        self._host, self._port = host, port
        self._username, self._secret = username, secret
        self._intake = intake
        self._agent_interface = agent_interface

    async def _session(self, backoff: Backoff) -> None:
        reader, writer = await asyncio.open_connection(self._host, self._port, limit=MAX_LINE)
        try:
            banner = await asyncio.wait_for(reader.readline(), 10)
            if not banner.startswith(b"Asterisk Call Manager"):
                raise ValueError("not an AMI server")
            writer.write(
                (
                    f"Action: Login\r\nActionID: agentdesk-login\r\nUsername: {self._username}\r\n"
                    f"Secret: {self._secret}\r\nEvents: on\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            while True:
                message = await self._read_message(reader)
                if message is None:
                    return
                if message.get("actionid") == "agentdesk-login":
                    if message.get("response", "").lower() != "success":
                        raise AmiLoginRefused
                    self._set(LinkState.UP)
                    backoff.reset()
                    continue
                if "event" in message:
                    self._handle(message)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read_message(reader: asyncio.StreamReader) -> dict[str, str] | None:
        lines: list[str] = []
        while True:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                raw = exc.partial  # the server closed mid-line: what came is the last line
                if not raw:
                    return None
            except asyncio.LimitOverrunError as exc:
                # A line no AMI field needs: drop it whole (its key is lost, not the link or the message).
                await skip_rest_of_line(reader, exc.consumed)
                continue
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line:
                if lines:
                    return parse_message(lines)
                continue
            lines.append(line)
            if len(lines) > MAX_MESSAGE_LINES:
                raise ValueError("AMI message too long")

    def _handle(self, message: dict[str, str]) -> None:
        try:
            event = event_from_message(message, self.name, self._agent_interface)
        except ValueError:
            self._intake.reject(self.name, "missing call id")
            return
        if event is not None:
            self._intake.accept(event)
