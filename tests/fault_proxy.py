"""A small TCP fault proxy for tests: sits between a client and a real server on 127.0.0.1 and, on command, is
`up` (forwards), `down` (accepts and hangs up at once, and cuts every open connection), `slow` (delays each
chunk) or `drop` (cuts each connection after a random number of bytes: mid-query, mid-transaction, mid-commit)."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time


class FaultProxy:
    def __init__(self, target_port: int, seed: int = 1, delay: float = 0.15) -> None:
        self._target = ("127.0.0.1", target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self.mode = "up"
        self.delay = delay
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = False
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    def set_mode(self, mode: str) -> None:
        assert mode in ("up", "down", "slow", "drop"), mode
        self.mode = mode
        if mode == "down":
            self._cut_all()

    def stop(self) -> None:
        self._stopped = True
        self._server.close()
        self._cut_all()
        self._thread.join(timeout=5)

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            self._reset(sock)

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        # SO_LINGER 0: the peer sees a reset, as when a network path or a server dies, not a polite close.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # shutdown first: close() alone does not wake a thread blocked in recv() on the socket, and the socket
        # (with its peer waiting) would live on half dead.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                if self._stopped:
                    return
                continue  # a client that reset before we accepted it: keep serving the others
            if self.mode == "down":
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                self._reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
                budget = self._rng.randint(50, 4000)  # bytes this connection may carry in 'drop' mode
            state = {"left": budget}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink, client, upstream, state), daemon=True).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        client: socket.socket,
        upstream: socket.socket,
        state: dict[str, int],
    ) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if self.mode == "slow":
                    time.sleep(self.delay)
                if self.mode == "drop":
                    state["left"] -= len(chunk)
                    if state["left"] <= 0:
                        self.cuts += 1
                        break
                if self.mode == "down":
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        with self._lock:
            self._open -= {client, upstream}
        self._reset(client)
        self._reset(upstream)
