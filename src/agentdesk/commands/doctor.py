"""`agentdesk doctor`: diagnose this workstation without a developer; a report an agent can attach to a ticket.

Checks the config layers, the keychain and every named credential, each record backend (built, reached, TLS
verified, authenticated, one harmless query for a number reserved for fiction), the central store (reachable,
schema current), each call source (reachable), the webhook port, free disk and the folders' permissions.
The report names files, hosts and ports but never a secret, a URL's user or query, or patient data (backend
messages pass through the log redaction). Exit 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import socket
import stat
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from agentdesk import __version__, services
from agentdesk.config import ConfigError, Settings, load_settings
from agentdesk.config.schema import AmiSourceSettings, SqlBackendSettings, StreamSourceSettings
from agentdesk.logs import redact
from agentdesk.paths import AppPaths

Status = Literal["ok", "warn", "fail"]
PROBE_NUMBER = "+12025550199"  # the 555-01xx block is reserved for fiction: no real person has it
FREE_DISK_FAIL_MB = 200
FREE_DISK_WARN_MB = 1024
CONNECT_SECONDS = 3.0
DIAGNOSIS_SECONDS = 15.0


@dataclass(frozen=True)
class Finding:
    status: Status
    area: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.status.upper():4}] {self.area}: {self.detail}"


def run_doctor(config: Path | None, basedir: Path | None) -> int:
    paths = services.app_paths(basedir)
    findings = asyncio.run(diagnose(paths, config))
    print(report(findings))
    return 1 if any(f.status == "fail" for f in findings) else 0


def report(findings: Iterable[Finding]) -> str:
    findings = list(findings)
    counts = {status: sum(f.status == status for f in findings) for status in ("ok", "warn", "fail")}
    frozen = " (installed build)" if getattr(sys, "frozen", False) else ""
    lines = [
        f"AgentDesk doctor: AgentDesk {__version__}{frozen}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        *(str(f) for f in findings),
        f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)",
    ]
    return "\n".join(lines)


def shown_url(url: str) -> str:
    """scheme://host:port/path: never the user, password or query of a URL."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unreadable URL>"
    if not parts.scheme:
        return "<not a URL>"
    if parts.scheme.startswith("sqlite"):
        return f"{parts.scheme}:///{Path(parts.path.lstrip('/')).name}"  # the file's name, not its folder
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


async def diagnose(paths: AppPaths, config: Path | None) -> list[Finding]:
    findings: list[Finding] = []
    settings = _config_layers(paths, config, findings)
    findings += _keychain(settings)
    if settings is not None:
        findings += await _backends(settings)
        findings += await asyncio.to_thread(_central_store, settings)
        findings += await asyncio.to_thread(_call_sources, settings)
        findings += await asyncio.to_thread(_webhook, settings, paths)
    findings += _disk(paths)
    findings += _permissions(paths)
    findings.append(Finding("ok", "logs", f"written to {paths.log_dir}"))
    return findings


def _config_layers(paths: AppPaths, config: Path | None, findings: list[Finding]) -> Settings | None:
    for label, path in (("machine-wide config", paths.machine_config), ("user config", paths.user_config)):
        if path is not None:
            found = path.is_file()
            findings.append(Finding("ok", label, f"{path}" if found else f"none ({path} does not exist)"))
    if config is not None:
        findings.append(Finding("ok", "--config", f"{config}"))
    files = services.config_files(paths, config)
    try:
        settings = load_settings(files)
    except ConfigError as exc:
        for problem in exc.problems:
            findings.append(Finding("fail", "config", str(problem).replace("\n", " ")))
        return None
    findings.append(Finding("ok", "config", f"{len(files)} file(s) valid"))
    return settings


def _credentials(settings: Settings) -> list[tuple[str, str, bool]]:
    """(credential name, who needs it, required) for every credential the config names."""
    named: list[tuple[str, str, bool]] = []
    for backend in settings.backends:
        credential = str(getattr(backend, "credential", ""))
        if backend.enabled and credential:
            named.append((credential, f"backend '{backend.name}'", True))
    for source in settings.call_sources:
        if source.enabled and isinstance(source, AmiSourceSettings):
            named.append((source.credential, f"call source '{source.name}'", True))
    if settings.store.central_url and settings.store.central_credential:
        named.append((settings.store.central_credential, "central store", True))
    if settings.webhook.enabled:
        named.append((settings.webhook.token_credential, "webhook (created on first start)", False))
    return named


def _keychain(settings: Settings | None) -> list[Finding]:
    import keyring
    from keyring.errors import KeyringError

    from agentdesk.config.credentials import KEYRING_SERVICE, NO_KEYCHAIN, CredentialMissing, get_secret

    try:
        backend = keyring.get_keyring()
        keyring.get_password(KEYRING_SERVICE, "doctor-probe")
    except KeyringError as exc:
        return [Finding("fail", "keychain", f"{NO_KEYCHAIN} [{type(exc).__name__}]")]
    findings = [Finding("ok", "keychain", f"{type(backend).__module__}.{type(backend).__name__}")]
    for name, user, required in _credentials(settings) if settings else []:
        try:
            get_secret(name)
            findings.append(Finding("ok", f"credential '{name}'", f"stored (for {user})"))
        except CredentialMissing:
            status: Status = "fail" if required else "warn"
            findings.append(
                Finding(status, f"credential '{name}'", f"not stored (for {user}); agentdesk credentials set {name}")
            )
    return findings


async def _backends(settings: Settings) -> list[Finding]:
    from agentdesk.records.backends.factory import BackendUnavailable, build_backend

    findings = []
    for entry in settings.backends:
        area = f"backend '{entry.name}'"
        if not entry.enabled:
            findings.append(Finding("ok", area, "disabled"))
            continue
        where = shown_url(entry.url if isinstance(entry, SqlBackendSettings) else getattr(entry, "base_url", ""))
        if isinstance(entry, SqlBackendSettings) and entry.url.startswith("sqlite"):
            database = Path(entry.url.split("///", 1)[-1])
            if not await asyncio.to_thread(database.is_file):
                findings.append(Finding("fail", area, f"{where}: the database file does not exist"))
                continue
        try:
            backend = await asyncio.to_thread(build_backend, entry, settings.telephony.default_region)
        except BackendUnavailable as exc:
            findings.append(Finding("fail", area, redact(exc.reason)))
            continue
        started = time.perf_counter()
        patience = max(DIAGNOSIS_SECONDS, entry.timeout_seconds)  # a first query also pays for the driver's start
        try:
            await asyncio.wait_for(backend.find_by_phone(PROBE_NUMBER), patience)
        except TimeoutError:
            findings.append(Finding("fail", area, f"{where}: no answer within {patience:g} s"))
        except Exception as exc:  # adapters raise BackendError; drivers their own: report the kind, redacted
            findings.append(Finding("fail", area, f"{where}: {redact(str(exc)) or type(exc).__name__}"))
        else:
            elapsed = (time.perf_counter() - started) * 1000
            tls = ", TLS verified" if where.startswith("https") else ""
            slow = elapsed > entry.timeout_seconds * 1000
            status: Status = "warn" if slow else "ok"
            note = f" (slower than its timeout_seconds = {entry.timeout_seconds:g})" if slow else ""
            detail = f"{where}: reached{tls}, test query answered in {elapsed:.0f} ms{note}"
            findings.append(Finding(status, area, detail))
        finally:
            await backend.aclose()
    return findings


def _central_store(settings: Settings) -> list[Finding]:
    store = settings.store
    if not store.central_url:
        return [Finding("ok", "central store", "not configured (local only)")]
    from agentdesk.config.credentials import CredentialMissing

    where = shown_url(store.central_url)
    try:
        central = services.open_central(settings)
        try:
            central.check_schema()
        finally:
            central.dispose()
    except CredentialMissing as exc:
        return [Finding("fail", "central store", f"{where}: {exc}")]
    except Exception as exc:  # CentralStoreError names the kind; a driver's message may quote the URL: kind only
        detail = str(exc) if type(exc).__name__ == "CentralStoreError" else type(exc).__name__
        return [Finding("fail", "central store", f"{where}: {redact(detail)}")]
    return [Finding("ok", "central store", f"{where}: reachable, schema current")]


def _reachable(host: str, port: int) -> str | None:
    """None when a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _call_sources(settings: Settings) -> list[Finding]:
    findings = []
    for source in settings.call_sources:
        area = f"call source '{source.name}'"
        if not source.enabled:
            findings.append(Finding("ok", area, "disabled"))
            continue
        if isinstance(source, StreamSourceSettings):
            parts = urlsplit(source.url)
            host, port = parts.hostname or "", parts.port or 0
        elif isinstance(source, AmiSourceSettings):
            host, port = source.host, source.port
        else:  # pragma: no cover - a new source kind must add its check here
            findings.append(Finding("warn", area, "no check for this kind"))
            continue
        problem = _reachable(host, port)
        status: Status = "fail" if problem else "ok"
        findings.append(
            Finding(status, area, f"{host}:{port} " + (f"unreachable ({problem})" if problem else "reached"))
        )
    return findings


def _webhook(settings: Settings, paths: AppPaths) -> list[Finding]:
    hooks = settings.webhook
    if not hooks.enabled:
        return [Finding("ok", "webhook", "disabled")]
    if hooks.port == 0:
        return [Finding("ok", "webhook", "any free port on 127.0.0.1")]
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", hooks.port))
            return [Finding("ok", "webhook", f"127.0.0.1:{hooks.port} free")]
        except OSError:
            pass
    from agentdesk.instance import read_instance

    running = read_instance(paths.data_dir)
    if running is not None and running.port == hooks.port:
        return [Finding("ok", "webhook", f"127.0.0.1:{hooks.port} in use by the running AgentDesk")]
    return [Finding("fail", "webhook", f"127.0.0.1:{hooks.port} is taken by another program; set webhook.port")]


def _existing(folder: Path) -> Path:
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def _disk(paths: AppPaths) -> list[Finding]:
    free_mb = shutil.disk_usage(_existing(paths.data_dir)).free / 1e6
    status: Status = "fail" if free_mb < FREE_DISK_FAIL_MB else "warn" if free_mb < FREE_DISK_WARN_MB else "ok"
    return [Finding(status, "free disk", f"{free_mb:,.0f} MB free where the local store lives")]


def _privacy(paths: AppPaths) -> list[Finding]:
    """What another local user could read (HIPAA: data at rest on a shared workstation): the folders and files
    AgentDesk keeps user-only. On Windows the profile's ACLs decide, so nothing is checked there."""
    from agentdesk.base.private import only_mine
    from agentdesk.config.fingerprint import FILE_NAME

    if os.name != "posix":
        return []
    kept = (
        ("data folder", paths.data_dir, "patient data and notes"),
        ("log folder", paths.log_dir, "the logs"),
        ("local store", paths.local_store, "patient data and notes"),
        ("validated-config note", paths.data_dir / FILE_NAME, "ignored: every start validates the config first"),
    )
    findings = []
    wide = [(label, path, why) for label, path, why in kept if path.exists() and not only_mine(path)]
    for label, path, why in wide:
        fix = "chmod 700" if path.is_dir() else "chmod 600"
        findings.append(
            Finding("warn", f"{label} access", f"{path} is open to other users or not yours ({why}; {fix})")
        )
    if not wide:
        findings.append(Finding("ok", "private files", "data, logs and store are user-only"))
    return findings


def _permissions(paths: AppPaths) -> list[Finding]:
    from agentdesk.base.private import private_dir

    findings = []
    for label, folder in (("data folder", paths.data_dir), ("log folder", paths.log_dir)):
        try:
            if not folder.exists():
                private_dir(folder)  # as the desk makes it: user-only
            probe = folder / f".doctor-{os.getpid()}"
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
            findings.append(Finding("ok", label, f"{folder} writable"))
        except OSError as exc:
            findings.append(Finding("fail", label, f"{folder} not writable ({exc.strerror or type(exc).__name__})"))
    findings += _privacy(paths)
    machine = paths.machine_config
    if machine is not None and machine.is_file() and os.name == "posix":
        mode = machine.stat().st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            findings.append(
                Finding("warn", "machine-wide config", f"{machine} is writable by other users (chmod go-w)")
            )
    return findings
