"""Transport: no credential in clear to another machine, PostgreSQL verified unless local (a weaker mode is said
out loud), TLS failures named as TLS failures, SQL links bounded by their deadline (real servers throughout)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdesk.config import check_config_file
from agentdesk.records.backends import BackendError
from agentdesk.records.backends.fhir import FhirBackend
from agentdesk.records.backends.sql import SqlBackend
from agentdesk.store.central import CentralStore, CentralStoreError
from tests.postgres import run_postgres


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


FHIR = """[[backends]]
name = "ehr"
kind = "fhir"
base_url = "{url}"
auth = "{auth}"
credential = "ehr-token"
"""


def test_a_credential_over_plain_http_to_another_machine_is_a_config_error(tmp_path: Path) -> None:
    remote = write(tmp_path / "a.toml", FHIR.format(url="http://ehr.example.org/fhir", auth="bearer"))
    problems = [str(p) for p in check_config_file(remote)]
    assert len(problems) == 1 and "a.toml:4: backends[0].base_url: plain http://" in problems[0]
    assert "https://" in problems[0]
    rest = write(
        tmp_path / "b.toml",
        '[[backends]]\nname = "crm"\nkind = "rest"\nauth = "basic"\ncredential = "crm"\n'
        'url_templates = {phone = "http://10.1.2.3/api?phone={phone}"}\n',
    )
    assert any("backends[0].url_templates.phone: plain http://" in str(p) for p in check_config_file(rest))
    # Allowed: TLS to anyone, plain http to this machine, and no credential at all.
    for url, auth in (
        ("https://ehr.example.org/fhir", "bearer"),
        ("http://127.0.0.1:8080/fhir", "basic"),
        ("http://localhost/fhir", "bearer"),
        ("http://ehr.example.org/fhir", "none"),
    ):
        assert check_config_file(write(tmp_path / "ok.toml", FHIR.format(url=url, auth=auth))) == [], url


def lan_address() -> str:
    """This machine's address on its network (not loopback), for a 'remote' server that is really local."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("this machine has no network address other than loopback")
    return address


@contextlib.contextmanager
def forwarder(host: str, target_port: int) -> Iterator[int]:
    """A TCP relay on `host` to 127.0.0.1:target_port: the database looks like another machine."""
    listener = socket.create_server((host, 0))
    stop = threading.Event()
    opened: list[socket.socket] = []

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", target_port))
            opened.extend((client, upstream))
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        thread.join(5)
        for connection in opened:
            connection.close()


def test_postgres_on_another_machine_is_verified_unless_told_otherwise_and_then_it_says_so() -> None:
    host = lan_address()
    with run_postgres() as url, forwarder(host, int(url.rsplit(":", 1)[1].split("/")[0])) as port:
        remote = f"postgresql+psycopg://agentdesk@{host}:{port}/agentdesk"
        # The test server has no TLS: a desk that demanded it fails, and says it is about TLS.
        strict = CentralStore(remote)
        with pytest.raises(CentralStoreError, match="TLS failed"):
            strict.check_schema()
        strict.dispose()
        assert CentralStore(url).unverified == ""  # loopback: nothing to verify, nothing to report
        relaxed = CentralStore(remote + "?sslmode=disable")
        assert "sslmode=disable" in relaxed.unverified and "not verified" in relaxed.unverified
        with pytest.raises(CentralStoreError, match="schema at nothing"):
            relaxed.check_schema()  # connected (in clear, as IT chose): the schema is simply not there yet
        relaxed.dispose()


def test_a_sql_statement_past_the_deadline_is_stopped_by_the_server() -> None:
    with run_postgres() as url:
        backend = SqlBackend(
            "slow",
            url,
            "SELECT 'p1' AS id, 'Ada' AS given_name FROM (SELECT pg_sleep(60)) AS s WHERE :phone <> ''",
            timeout_seconds=1.0,
        )

        async def scenario() -> None:
            try:
                with pytest.raises(BackendError, match="query failed"):
                    await backend.find_by_phone("+16175550123")
            finally:
                await backend.aclose()

        asyncio.run(scenario())


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word (a hung database, a black-holing firewall)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        for connection in held:
            connection.close()


AGENTDESK = [sys.executable, "-m", "agentdesk"]


def test_lookup_against_a_database_that_never_answers_ends_at_its_deadline(tmp_path: Path) -> None:
    with silent_server() as port:
        config = write(
            tmp_path / "silent.toml",
            f'[[backends]]\nname = "crm"\nkind = "sql"\nurl = "postgresql+psycopg://agentdesk@127.0.0.1:{port}/crm"\n'
            'timeout_seconds = 2\nphone_query = "SELECT id FROM people WHERE phone = :phone"\n',
        )
        # Before: the worker thread sat in the driver's connect for minutes and the command waited for it.
        result = subprocess.run(
            [*AGENTDESK, "--basedir", str(tmp_path), "--config", str(config), "lookup", "--phone", "+16175550123"],
            capture_output=True,
            text=True,
            timeout=45,
        )
    # Ends at the deadline; its only backend failed, so the lookup did not do its job (exit 1, issue 15).
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr.splitlines()[-1] == "agentdesk lookup: every record backend failed (crm); nothing was looked up"
    )
    assert "crm" in result.stdout + result.stderr and "+16175550123" not in result.stderr


OPENSSL_REQ = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]


def self_signed(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [*OPENSSL_REQ, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


def test_an_untrusted_certificate_is_reported_as_a_tls_failure(tmp_path: Path) -> None:
    import ssl
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    key, cert = self_signed(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:

        async def scenario() -> str:
            backend = FhirBackend("ehr", f"https://127.0.0.1:{server.server_address[1]}/fhir", timeout_seconds=5)
            try:
                await backend.find_by_phone("+16175550123")
            except BackendError as exc:
                return str(exc)
            finally:
                await backend.aclose()
            return "no error"

        message = asyncio.run(scenario())
    finally:
        server.shutdown()
        server.server_close()
    assert message.startswith("TLS failed: certificate not trusted"), message
