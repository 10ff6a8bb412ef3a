"""A protocol-faithful fake Asterisk Manager Interface server on 127.0.0.1, for the AMI source's tests.

It speaks AMI as Asterisk 18 does: the `Asterisk Call Manager/5.0.2` banner, CRLF `Key: Value` blocks ended by
a blank line, a Login action answered with `Response: Success` / `Response: Error` echoing the ActionID (and the
connection dropped after a failed login), `FullyBooted` after a good one, then events pushed by the test. The
event builders lay the fields out in the order and with the names Asterisk 18 uses (channel snapshots for the
caller, `Dest`-prefixed snapshots for the queue member's channel). All numbers are fictional 555-01xx ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

BANNER = b"Asterisk Call Manager/5.0.2\r\n"
Block = list[tuple[str, str]]


def encode(block: Iterable[tuple[str, str]]) -> bytes:
    return b"".join(f"{key}: {value}\r\n".encode() for key, value in block) + b"\r\n"


async def read_block(reader: asyncio.StreamReader) -> Block | None:
    """One `Key: Value` block as the client sent it, or None at EOF."""
    block: Block = []
    while True:
        raw = await reader.readline()
        if not raw:
            return None
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            if block:
                return block
            continue
        key, _sep, value = text.partition(":")
        block.append((key.strip(), value.strip()))


class FakeAmi:
    """`async with FakeAmi(...) as ami:` then point an AmiSource at `ami.port` and `await ami.push(...)` events."""

    def __init__(self, username: str = "agentdesk", secret: str = "not-a-real-secret-0142") -> None:
        self.username, self.secret = username, secret
        self.logins: list[dict[str, str]] = []  # every Login action received, as sent
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._sessions: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._logged_in: asyncio.Event | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> FakeAmi:
        self._logged_in = asyncio.Event()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._sessions:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def wait_logged_in(self, timeout: float = 10.0) -> None:
        assert self._logged_in is not None
        await asyncio.wait_for(self._logged_in.wait(), timeout)

    async def push(self, *blocks: Block) -> None:
        """Send event blocks to every logged-in client, in order."""
        for writer in list(self._sessions):
            for block in blocks:
                writer.write(encode(block))
            await writer.drain()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._session(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(BANNER)
            await writer.drain()
            while True:
                block = await read_block(reader)
                if block is None:
                    return
                action = dict(block)
                action_id = action.get("ActionID", "")
                if action.get("Action", "").lower() != "login":
                    writer.write(
                        encode([("Response", "Error"), ("ActionID", action_id), ("Message", "Permission denied")])
                    )
                    await writer.drain()
                    continue
                self.logins.append(action)
                if action.get("Username") != self.username or action.get("Secret") != self.secret:
                    self.refused += 1
                    writer.write(
                        encode([("Response", "Error"), ("ActionID", action_id), ("Message", "Authentication failed")])
                    )
                    await writer.drain()
                    return  # Asterisk drops the session after a failed login
                writer.write(
                    encode([("Response", "Success"), ("ActionID", action_id), ("Message", "Authentication accepted")])
                )
                writer.write(
                    encode(
                        [
                            ("Event", "FullyBooted"),
                            ("Privilege", "system,all"),
                            ("Uptime", "86400"),
                            ("LastReload", "3600"),
                            ("Status", "Fully Booted"),
                        ]
                    )
                )
                await writer.drain()
                self._sessions.append(writer)
                assert self._logged_in is not None
                self._logged_in.set()
                while await read_block(reader) is not None:  # further actions: not needed by the client
                    pass
                return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if writer in self._sessions:
                self._sessions.remove(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


# --- Asterisk 18 event blocks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """A channel snapshot as AMI lays it out."""

    name: str
    uniqueid: str
    linkedid: str
    caller_num: str = "6175550123"
    caller_name: str = "Pat Example"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    context: str = "from-trunk"
    exten: str = "8005550142"
    priority: str = "3"
    state: tuple[str, str] = ("6", "Up")

    def fields(self, prefix: str = "") -> Block:
        return [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", self.state[0]),
            (f"{prefix}ChannelStateDesc", self.state[1]),
            (f"{prefix}CallerIDNum", self.caller_num),
            (f"{prefix}CallerIDName", self.caller_name),
            (f"{prefix}ConnectedLineNum", self.connected_num),
            (f"{prefix}ConnectedLineName", self.connected_name),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", self.priority),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]


def caller_channel(linkedid: str = "1764230400.101", ani: str = "6175550123", dnis: str = "8005550142") -> Channel:
    """The inbound trunk channel that sits in the queue; its Uniqueid is the call's Linkedid."""
    return Channel("PJSIP/trunk-00000001", linkedid, linkedid, caller_num=ani, exten=dnis)


def member_channel(interface: str, sequence: int, linkedid: str = "1764230400.101") -> Channel:
    """The channel app_queue opens to ring a member: same Linkedid, its own Uniqueid."""
    return Channel(
        f"{interface}-{sequence:08x}",
        f"{linkedid.split('.')[0]}.{int(linkedid.split('.')[1]) + sequence}",
        linkedid,
        caller_num="6175550123",
        connected_num="6175550123",
        connected_name="Pat Example",
        context="from-internal",
        priority="1",
        state=("5", "Ringing"),
    )


def queue_member_event(
    event: str, caller: Channel, member: Channel, interface: str, queue: str = "cardiology", **extra: str
) -> Block:
    member_name = f"Agent {interface.rsplit('/', 1)[-1]}"
    block: Block = [("Event", event), ("Privilege", "agent,all")]
    block += caller.fields() + member.fields("Dest")
    block += [("Queue", queue), ("MemberName", member_name), ("Interface", interface)]
    block += list(extra.items())
    return block


def agent_called(caller: Channel, member: Channel, interface: str, queue: str = "cardiology") -> Block:
    return queue_member_event("AgentCalled", caller, member, interface, queue)


def agent_connect(caller: Channel, member: Channel, interface: str, queue: str = "cardiology") -> Block:
    return queue_member_event("AgentConnect", caller, member, interface, queue, RingTime="4", HoldTime="12")


def agent_complete(caller: Channel, member: Channel, interface: str, reason: str = "caller") -> Block:
    return queue_member_event("AgentComplete", caller, member, interface, HoldTime="12", TalkTime="95", Reason=reason)


def agent_ring_no_answer(caller: Channel, member: Channel, interface: str) -> Block:
    return queue_member_event("AgentRingNoAnswer", caller, member, interface, RingTime="15")


def hangup(channel: Channel, cause: str = "16", cause_txt: str = "Normal Clearing") -> Block:
    return [
        ("Event", "Hangup"),
        ("Privilege", "call,all"),
        *channel.fields(),
        ("Cause", cause),
        ("Cause-txt", cause_txt),
    ]


def hold(channel: Channel) -> Block:
    return [("Event", "Hold"), ("Privilege", "call,all"), *channel.fields(), ("MusicClass", "default")]


def unhold(channel: Channel) -> Block:
    return [("Event", "Unhold"), ("Privilege", "call,all"), *channel.fields()]


def blind_transfer(transferer: Channel, transferee: Channel, extension: str = "2001") -> Block:
    """As Asterisk 18 sends it: only prefixed snapshots, so there is no plain Linkedid/Uniqueid key."""
    bridge = [
        ("BridgeUniqueid", "5d9e1f3c-0000-4000-8000-000000000001"),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"),
        ("BridgeNumChannels", "2"),
        ("BridgeVideoSourceMode", "none"),
    ]
    return [
        ("Event", "BlindTransfer"),
        ("Privilege", "call,all"),
        ("Result", "Success"),
        *transferer.fields("Transferer"),
        *transferee.fields("Transferee"),
        *bridge,
        ("IsExternal", "No"),
        ("Context", "from-internal"),
        ("Extension", extension),
    ]


def peer_status(peer: str = "PJSIP/1001") -> Block:
    return [
        ("Event", "PeerStatus"),
        ("Privilege", "system,all"),
        ("ChannelType", "PJSIP"),
        ("Peer", peer),
        ("PeerStatus", "Reachable"),
        ("Address", "192.0.2.10:5060"),
    ]


def var_set(channel: Channel, variable: str = "QUEUEPOSITION", value: str = "1") -> Block:
    return [
        ("Event", "VarSet"),
        ("Privilege", "dialplan,all"),
        *channel.fields(),
        ("Variable", variable),
        ("Value", value),
    ]
