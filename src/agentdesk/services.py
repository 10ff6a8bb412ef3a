"""The one service builder: where the config files are, the settings read once from them, the record backends,
the lookup with its matcher, the local and central stores. The GUI (app.py) and every headless command build
them here, the same way, so a command sees exactly what the window would.

Heavy modules (the backends' HTTP and SQL clients, the matcher, SQLAlchemy, asyncio) are imported on first use:
a headless command that needs none of them starts without paying for them, and the desktop's first paint (which
needs only app_paths and config_files) neither.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk.paths import AppPaths

if TYPE_CHECKING:
    from agentdesk.campaigns.resolver import CampaignResolver
    from agentdesk.config.schema import BackendSettings, FhirBackendSettings, Settings
    from agentdesk.records.backends import RecordBackend
    from agentdesk.records.backends.factory import BackendUnavailable
    from agentdesk.records.decisions import DecisionBook
    from agentdesk.records.lookup import ProfileLookup
    from agentdesk.records.merge import MatcherRule
    from agentdesk.store.central import CentralStore
    from agentdesk.store.local import LocalStore
    from agentdesk.store.writeback import WriteBack, WriteResult

log = logging.getLogger("agentdesk.services")


def app_paths(basedir: Path | None) -> AppPaths:
    """`--basedir DIR` keeps everything under DIR; otherwise the OS's per-user and machine-wide folders."""
    return AppPaths.for_basedir(basedir) if basedir else AppPaths.for_current_user()


def config_files(paths: AppPaths, config: Path | None, *, demo: bool = False) -> list[Path]:
    """The files to layer, lowest first: machine-wide, user, then `--config`. The demo ignores the machine and
    user files (a trial must not pick up a real deployment's backends); its `--config` still applies."""
    files: list[Path] = []
    if not demo:
        files += [p for p in (paths.machine_config, paths.user_config) if p is not None and p.is_file()]
    if config is not None:
        files.append(config)  # must exist: the loader reports it by name if not
    return files


def read_settings(
    paths: AppPaths, config: Path | None, *, demo: bool = False, overrides: dict[str, Any] | None = None
) -> Settings:
    """The settings from every layer (`overrides` sit under the files). Raises ConfigError naming each problem."""
    from agentdesk.config import load_settings

    return load_settings(config_files(paths, config, demo=demo), overrides, machine=paths.machine_config)


def agent_id(settings: Settings) -> str:
    """Who did it, in the audit log and every row: the OS login (the config's agent.id only names the phone)."""
    from agentdesk.config.operator import os_login

    return os_login()


def local_store_path(settings: Settings, paths: AppPaths) -> Path:
    return Path(settings.store.local_path) if settings.store.local_path else paths.local_store


def build_matcher(settings: Settings) -> MatcherRule:
    """The identity matcher with the configured thresholds (the lookup merges with it, `lookup --json` explains
    with it)."""
    from agentdesk.records.merge import MatcherRule

    matching = settings.matching
    return MatcherRule(matching.match_threshold, matching.review_threshold, settings.telephony.default_region)


async def prepare_matcher(matcher: MatcherRule, settings: Settings) -> list[str]:
    """Import and build the matcher with the fitted model (`matching.model`) on a worker thread, before the first
    call; a model file that cannot be used is named in the problems and the default model is used."""
    import asyncio

    from agentdesk.records.identity import ModelFileError

    try:
        await asyncio.to_thread(matcher.prepare, settings.matching.model)
    except ModelFileError as exc:
        log.warning("matching.model: %s; using the default model", exc)
        return [f"matching.model: {exc}; using the default model"]
    return []


async def build_backends(
    entries: list[BackendSettings], region: str
) -> tuple[list[RecordBackend], list[BackendUnavailable]]:
    """An adapter for every enabled entry. One that cannot be built (a missing credential, a bad certificate) is
    left out and returned with its name and reason; the others still work."""
    import asyncio

    from agentdesk.records.backends.factory import BackendUnavailable, build_backend

    backends: list[RecordBackend] = []
    problems: list[BackendUnavailable] = []
    for entry in entries:
        if not entry.enabled:
            continue
        try:
            # On a worker thread: keychain access and TLS context setup (CA loading) take tens of ms.
            backends.append(await asyncio.to_thread(build_backend, entry, region))
        except BackendUnavailable as exc:
            log.warning("%s", exc)
            problems.append(exc)
    return backends, problems


def open_central(settings: Settings) -> CentralStore:
    """The central PostgreSQL store, its password from the keychain. Raises CredentialMissing, CentralStoreError
    or the driver's own errors (which may quote the URL: callers name only their kind)."""
    from agentdesk.config.credentials import get_secret
    from agentdesk.store.central import CentralStore

    store = settings.store
    password = get_secret(store.central_credential) if store.central_credential else None
    return CentralStore(store.central_url, password)


@dataclass
class Services:
    """The core services of one desk or one command run, built but not yet started."""

    settings: Settings
    paths: AppPaths
    agent_id: str
    store: LocalStore
    decisions: DecisionBook
    matcher: MatcherRule
    lookup: ProfileLookup
    backend_problems: list[str] = field(default_factory=list)
    unavailable_backends: list[BackendUnavailable] = field(default_factory=list)  # the same, by name and reason

    async def open_store(self) -> None:
        """Open (and migrate) the local store and load the identity decisions agents made before."""
        await self.store.open()
        for decision in await self.store.identity_decisions():
            self.decisions.record(decision)

    async def connect_backends(self, entries: list[BackendSettings] | None = None) -> list[str]:
        """Build the backends (the configured ones, or `entries`) and hand them to the lookup; returns the
        problems, also kept for later readers (the status bar shows them for as long as they last)."""
        chosen = self.settings.backends if entries is None else entries
        backends, self.unavailable_backends = await build_backends(chosen, self.settings.telephony.default_region)
        problems = [str(problem) for problem in self.unavailable_backends]
        # The matcher too is made ready here, before the first call (nothing is imported inside a lookup).
        self.backend_problems = problems + await prepare_matcher(self.matcher, self.settings)
        self.lookup.backends = backends
        return self.backend_problems

    async def close(self) -> None:
        await self.lookup.aclose()
        await self.store.close()


def build(settings: Settings, paths: AppPaths, *, cache_seconds: float | None = None) -> Services:
    """Everything a lookup needs, wired once: the store, the decision book the merge honours, the matcher and the
    lookup. `cache_seconds` overrides the configured cache (a one-shot command caches nothing)."""
    from agentdesk.records.decisions import DecisionBook
    from agentdesk.records.lookup import ProfileLookup
    from agentdesk.records.merge import merge_records
    from agentdesk.store.local import LocalStore

    decisions = DecisionBook()
    matcher = build_matcher(settings)
    matching = settings.matching
    lookup = ProfileLookup(
        [],
        cache_seconds=matching.cache_seconds if cache_seconds is None else cache_seconds,
        breaker_failures=matching.breaker_failures,
        breaker_seconds=matching.breaker_seconds,
        merge=partial(merge_records, decisions=decisions, same=matcher),
    )
    store = LocalStore(local_store_path(settings, paths), settings.store.encryption_credential)
    store.write_back = tuple(entry.name for entry in write_back_entries(settings))
    return Services(
        settings=settings,
        paths=paths,
        agent_id=agent_id(settings),
        store=store,
        decisions=decisions,
        matcher=matcher,
        lookup=lookup,
    )


def write_back_entries(settings: Settings) -> list[FhirBackendSettings]:
    from agentdesk.config.schema import FhirBackendSettings

    return [b for b in settings.backends if isinstance(b, FhirBackendSettings) and b.enabled and b.write_back]


def build_write_back(
    settings: Settings, store: LocalStore, on_result: Callable[[WriteResult], None]
) -> tuple[WriteBack | None, list[str]]:
    """The FHIR write-back (None when no backend has `write_back`), and the backends it cannot write to now (a
    missing credential: their writes wait in the queue). Blocking (the keychain): call it on a worker thread."""
    from agentdesk.records.backends.factory import BackendUnavailable, build_writer
    from agentdesk.store.writeback import WriteBack

    entries = write_back_entries(settings)
    if not entries:
        return None, []
    writers, problems = {}, []
    for entry in entries:
        try:
            writers[entry.name] = build_writer(entry)
        except BackendUnavailable as exc:
            problems.append(str(exc))
    minutes = {entry.name: entry.appointment_minutes for entry in entries}
    return WriteBack(store, writers, on_result, appointment_minutes=minutes), problems


def metrics_engine(settings: Settings, paths: AppPaths) -> tuple[Any, str]:
    """(a SQLAlchemy engine, 'central store' or 'local store') for reading figures: the central store when one
    is configured (its schema must be current), else this desk's local store (migrated, as the desk would).
    Raises CredentialMissing, CentralStoreError or StoreUnusable."""
    if settings.store.central_url:
        from agentdesk.store.central import CentralStoreError

        central = open_central(settings)
        try:
            central.check_schema()
        except CentralStoreError:
            central.dispose()
            raise
        return central.engine, "central store"
    from agentdesk.store.local import LocalStore

    # Opened as the desk opens it (encryption key, migrations, an unreadable file moved aside).
    store = LocalStore(local_store_path(settings, paths), settings.store.encryption_credential)
    store.open_here()
    return store.engine, "local store"


def campaign_service_lines(settings: Settings) -> dict[str, str]:
    """Campaign code -> service line, from the campaign files and the config's own campaigns (unreadable files are
    left out: their calls count under no service line)."""
    from agentdesk.campaigns.loader import load_catalog

    lines = {c.code: c.service_line for c in settings.campaigns.inline if c.service_line}
    for loaded in load_catalog([settings.campaigns.folder_path]).campaigns:
        if loaded.campaign.service_line:
            lines.setdefault(loaded.campaign.code, loaded.campaign.service_line)
    return lines


def monitor_refusal(settings: Settings, login: str, *, demo: bool = False) -> str | None:
    """None when `login` may open the team monitor, else the message to show. The one place that decides:
    supervisors and admins (security.supervisors / admins, machine-wide file only); anyone in the demo (its
    data are synthetic)."""
    from agentdesk.config.operator import Role, role_of

    if demo or role_of(login, settings.security) >= Role.SUPERVISOR:
        return None
    return (
        f"The team monitor is for supervisors. The login '{login}' is not a supervisor in this workstation's "
        "machine-wide configuration (security.supervisors); ask IT to add it if you supervise a team."
    )


def build_campaign_resolver(settings: Settings) -> CampaignResolver:
    """The campaign files and the config's own campaigns, as the desk resolves calls with them (blocking: call it
    on a worker thread)."""
    from agentdesk.campaigns.loader import load_catalog
    from agentdesk.campaigns.resolver import CampaignResolver

    catalog = load_catalog([settings.campaigns.folder_path], [d.code for d in settings.dispositions])
    return CampaignResolver.from_catalog(
        catalog,
        settings.campaigns.inline,
        settings.dispositions,
        settings.telephony.default_region,
        settings.campaigns.default,
    )
