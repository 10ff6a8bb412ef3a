"""The composition root: builds every object once, connects them, runs the loop. No globals anywhere else.

Startup, in order: paths -> config -> logging -> Qt -> the main window's frame shown ("starting…") -> the settings
built, the desk's panels, the qasync loop -> (in the background) local store migrated, demo population and its
servers, record backends, call sources.

The config is validated before any window unless the same config bytes (every layer, with the same app version and
schema version) validated at the last start (config/fingerprint.py): then the window is shown first and the
settings are built on a worker thread right after the first paint. A new or changed config never gets a window
before it validated, so a broken one still stops the app with every problem listed. Input the agent gives while
the frame shows is held by Qt (only non-input events are processed until the desk is built) and delivered to
the built desk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentdesk import __version__, services
from agentdesk.commands.gui import LaunchOptions
from agentdesk.paths import AppPaths

# Not imported before the first paint: asyncio (~40 ms with ssl), pydantic and the schema, qasync, the desk.
if TYPE_CHECKING:
    import asyncio

    from PySide6.QtWidgets import QApplication

    from agentdesk.config import ConfigError, Settings
    from agentdesk.config.fingerprint import StartValues
    from agentdesk.desk import CallContext
    from agentdesk.logs import RecentLog, ShownValues
    from agentdesk.ui.layout import Layout
    from agentdesk.ui.lock_page import UnlockMode
    from agentdesk.ui.main_window import MainWindow

log = logging.getLogger("agentdesk.app")
SMOKE_DEADLINE_SECONDS = 30.0


def load_app_settings(options: LaunchOptions, paths: AppPaths, overrides: dict[str, Any] | None = None) -> Settings:
    if options.demo and overrides is None:
        from agentdesk.demo.setup import demo_static_overrides

        overrides = demo_static_overrides()
    return services.read_settings(paths, options.config, demo=options.demo, overrides=overrides)


def run_gui(options: LaunchOptions) -> int:
    """Start the desktop; returns the process exit code."""
    from agentdesk.config.fingerprint import StartValues, read_validated

    started = time.perf_counter()
    paths = services.app_paths(options.basedir)
    try:
        paths.create()
    except OSError as exc:
        print(f"AgentDesk cannot create its folders: {exc}", file=sys.stderr)
        return 2
    fingerprint = _fingerprint(options, paths)
    start = read_validated(paths.data_dir, fingerprint) if fingerprint and not options.monitor else None
    settings: Settings | None = None
    if start is None:  # a new or changed config: validated before any window
        from agentdesk.config import ConfigError

        try:
            settings = load_app_settings(options, paths)
        except ConfigError as exc:
            return _refuse_to_start(exc, options, paths)
        except OSError as exc:
            print(f"AgentDesk cannot create its folders: {exc}", file=sys.stderr)
            return 2
        start = StartValues.of(settings)
        _remember_if_unchanged(options, paths, fingerprint, start)
    from agentdesk.logs import setup_logging

    recent = setup_logging(paths.log_dir, start.log_level, start.log_json, start.log_keep_files, console=options.smoke)
    checked = "validated" if settings is not None else "as at the last start: validated after the first paint"
    log.info("AgentDesk %s starting (demo=%s; config %s)", __version__, options.demo, checked)
    if not options.monitor and not options.smoke and _handed_to_running_instance(options, paths, start):
        return 0  # needs no display: a pop from a terminal reaches the desk on the screen
    from agentdesk.base.display import display_problem

    problem = display_problem()
    if problem is not None:
        print(f"AgentDesk cannot open its window: {problem}", file=sys.stderr)
        log.error("no display: %s", problem)
        return 1
    if options.monitor:
        assert settings is not None  # the monitor never starts from a remembered config
        return run_monitor(options, paths, settings)

    from PySide6.QtWidgets import QApplication

    from agentdesk.ui.garbage import GuiThreadCollector
    from agentdesk.ui.main_window import MainWindow
    from agentdesk.ui.qt_messages import route_qt_messages

    route_qt_messages()
    _enable_faulthandler(paths)
    existing = QApplication.instance()
    qt_app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    # Only now: the first thread to make a Qt object becomes Qt's main thread (the reader's QSettings is one).
    layout = _LayoutReader(paths.ui_state)  # the saved window layout, read on a thread while the frame is built
    qt_app.setApplicationName("AgentDesk")
    qt_app.setApplicationVersion(__version__)
    qt_app.setQuitOnLastWindowClosed(False)  # the loop ends when the desk says so, after a clean shutdown
    collector = GuiThreadCollector(qt_app)  # before any worker thread: no collection may run off this thread
    window = MainWindow.starting(_window_title(_agent_name(start), options.demo), paths.ui_state)
    window.restore_layout(layout.result())
    window.show()
    _first_paint(qt_app)
    _mark_shown(started)
    if settings is None:
        settings = _settings_after_paint(options, paths, qt_app, window, (fingerprint, start), started)
        if settings is None:
            collector.stop()
            return 2
    try:
        return _run_desk(options, paths, settings, recent, qt_app, window, started)
    finally:
        collector.stop()


def _run_desk(
    options: LaunchOptions,
    paths: AppPaths,
    settings: Settings,
    recent: RecentLog,
    qt_app: QApplication,
    window: MainWindow,
    started: float,
) -> int:
    """The qasync loop and the desk, once the settings are built (after the first paint)."""
    import asyncio

    import qasync

    from agentdesk.ui.crash import make_excepthook

    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    desk_app = AgentDeskApp(options, paths, settings, recent, window)
    # Windows logoff and shutdown: WM_QUERYENDSESSION asks first (the clean stop starts, as when the window
    # closes), WM_ENDSESSION then tells, and the process may be killed as soon as its handler returns.
    qt_app.commitDataRequest.connect(lambda _manager: desk_app.session_ending())
    qt_app.aboutToQuit.connect(desk_app.session_ended)
    sys.excepthook = make_excepthook(recent.text, headless=options.smoke, exit_app=desk_app.finish, shown=recent.shown)
    loop.set_exception_handler(desk_app.loop_exception)
    _stop_on_signals(loop, desk_app.finish)
    with loop:
        code: int = loop.run_until_complete(desk_app.run(started))
    return code


def _fingerprint(options: LaunchOptions, paths: AppPaths) -> str | None:
    from agentdesk.config.fingerprint import config_fingerprint

    files = services.config_files(paths, options.config, demo=options.demo)
    return config_fingerprint(files, demo=options.demo, machine=paths.machine_config)


def _remember_if_unchanged(options: LaunchOptions, paths: AppPaths, before: str | None, start: StartValues) -> None:
    """Remember the config as validated, unless a file changed while it was being validated (the next start
    then validates again). On a thread of its own (the write is fsynced), which the process waits for at exit."""
    import threading

    from agentdesk.config.fingerprint import remember_validated

    def remember() -> None:
        if before is not None and _fingerprint(options, paths) == before:
            remember_validated(paths.data_dir, before, start)

    threading.Thread(target=remember, name="config-remember").start()


class _LayoutReader:
    """The window layout file, read on a thread of its own (the GUI thread does no file I/O for it)."""

    def __init__(self, path: Path) -> None:
        import threading

        self._layout: Layout = {}
        self._thread = threading.Thread(target=self._read, args=(path,), name="window-layout", daemon=True)
        self._thread.start()

    def _read(self, path: Path) -> None:
        from agentdesk.ui.layout import read_layout

        self._layout = read_layout(path)

    def result(self) -> Layout:
        self._thread.join()
        return self._layout


def _agent_name(start: StartValues) -> str:
    """The name shown: the config's, else the OS login (who did it, as services.agent_id)."""
    from agentdesk.config.operator import os_login

    return start.agent_name or os_login()


def _window_title(agent_name: str, demo: bool) -> str:
    return f"AgentDesk · {agent_name}" + (" · demo (synthetic data)" if demo else "")


def _first_paint(qt_app: QApplication) -> None:
    """Let the shown frame be exposed and painted. User input is left queued in Qt (delivered, in order, once the
    desk is built and the loop runs): a key pressed now must reach the desk, not a half-built window."""
    from PySide6.QtCore import QEventLoop

    for _ in range(2):  # the expose, then the paint it requests
        qt_app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)


def _settings_after_paint(
    options: LaunchOptions,
    paths: AppPaths,
    qt_app: QApplication,
    window: MainWindow,
    remembered: tuple[str | None, StartValues],
    started: float,
) -> Settings | None:
    """The config that validated at the last start, validated again (to build the settings) on a worker thread
    while the GUI thread builds the desk's panels; the frame keeps painting meanwhile. None: it did not validate
    after all (the app's own files changed without a new version): the app stops with every problem listed, as
    it would have before the window."""
    import threading

    from PySide6.QtCore import QEventLoop

    from agentdesk.config import ConfigError
    from agentdesk.config.fingerprint import StartValues

    fingerprint, start = remembered
    outcome: list[Settings | BaseException] = []

    def validate() -> None:
        try:
            outcome.append(load_app_settings(options, paths))
        except BaseException as exc:  # handed to the GUI thread, which decides
            outcome.append(exc)

    worker = threading.Thread(target=validate, name="config-validation", daemon=True)
    worker.start()
    window.build(_agent_name(start), list(start.not_ready_reasons), options.demo)
    while worker.is_alive():
        qt_app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        worker.join(0.01)
    result = outcome[0]
    if isinstance(result, ConfigError):
        window.hide()
        _refuse_to_start(result, options, paths)
        return None
    if isinstance(result, BaseException):
        raise result
    built = StartValues.of(result)
    if built != start:  # defaults moved between builds of the same version: the next start uses these
        _remember_if_unchanged(options, paths, fingerprint, built)
    log.info("settings built %.0f ms after launch, after the first paint", (time.perf_counter() - started) * 1000)
    return result


def _stop_on_signals(loop: asyncio.AbstractEventLoop, finish: Callable[[int], None]) -> None:
    """SIGTERM (a service manager, `kill`), SIGINT and Ctrl+C take the same clean way out as closing the window:
    sources stop, background work drains, the store closes, the instance note is removed. Without this SIGTERM
    ended the process at once and SIGINT was swallowed by Qt's loop."""
    import signal

    def stop(name: str) -> None:
        log.info("%s received: stopping cleanly", name)
        finish(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop, sig.name)  # a wake-up on the loop itself (POSIX)
        except (NotImplementedError, RuntimeError):
            # Windows: a C-level handler that hands over to the loop (Python runs it between Qt's events).
            def handler(signum: int, _frame: object) -> None:
                loop.call_soon_threadsafe(stop, signal.Signals(signum).name)

            signal.signal(sig, handler)


def _handed_to_running_instance(options: LaunchOptions, paths: AppPaths, start: StartValues) -> bool:
    """Single instance per user: a second start brings the running window forward (and passes on a pop)."""
    from agentdesk.instance import call_instance, read_instance

    if not start.webhook_enabled or read_instance(paths.data_dir) is None:
        # No desk of this user runs: nothing to hand over, so no keychain and no HTTP client before the window
        # (they cost a quarter of a second of every start).
        return False
    from agentdesk.config.credentials import CredentialMissing, get_secret

    try:
        token = get_secret(start.webhook_token_credential)
    except CredentialMissing:
        token = ""  # no keychain (or no token yet): a desk running without one noted its own in the user-only file
    if options.pop is not None:
        pop = options.pop
        answer = call_instance(
            paths.data_dir, token, "POST", "/v1/pop", {"ani": pop.ani, "dnis": pop.dnis, "campaign": pop.campaign}
        )
    else:
        answer = call_instance(paths.data_dir, token, "POST", "/v1/focus")
    if answer is None:
        return False
    print("AgentDesk is already running: handed over to it.")
    log.info("handed over to the running instance")
    return True


def _enable_faulthandler(paths: AppPaths) -> None:
    """A hard crash in Qt or a driver still leaves a Python stack in the log folder for IT."""
    import faulthandler

    from agentdesk.base.private import private_file

    crash_file = private_file(paths.log_dir / "faults.log").open("a", encoding="utf-8")  # open for the process
    faulthandler.enable(crash_file)


def _refuse_to_start(error: ConfigError, options: LaunchOptions, paths: AppPaths) -> int:
    from agentdesk.config.fingerprint import forget_validated

    forget_validated(paths.data_dir)  # the next start validates before any window, whatever it remembered
    text = "AgentDesk will not start: the configuration has problems.\n\n" + str(error)
    print(text, file=sys.stderr)
    if not options.smoke:
        try:
            from PySide6.QtWidgets import QApplication, QMessageBox

            _app = QApplication.instance() or QApplication(sys.argv[:1])
            QMessageBox.critical(None, "AgentDesk: configuration problem", text)
        except Exception as exc:  # no display: stderr already has it
            log.debug("could not show the configuration dialog: %s", type(exc).__name__)
    return 2


def _ami_interfaces(settings: Settings) -> list[str]:
    """An AMI source's agent interface names this agent's phone: its answers are this agent's answers."""
    from agentdesk.config.schema import AmiSourceSettings

    return [s.agent_interface for s in settings.call_sources if isinstance(s, AmiSourceSettings) and s.agent_interface]


def _mark_shown(started: float) -> None:
    """For the startup benchmark: note the wall-clock time the main window was first shown and idle."""
    marker = os.environ.get("AGENTDESK_STARTUP_MARKER")
    log.info("main window shown %.0f ms after launch", (time.perf_counter() - started) * 1000)
    if marker:
        Path(marker).write_text(f"{time.time():.6f}\n", encoding="utf-8")


def _remember_call(shown: ShownValues, context: CallContext) -> None:
    shown.remember_call(context.call.call_id)
    if context.call.ani:
        shown.remember({"phone": context.call.ani})


def _remember_lookup(shown: ShownValues, context: CallContext) -> None:
    if context.lookup is not None:
        for record in context.lookup.records:
            shown.remember(record.fields)


class AgentDeskApp:
    """Owns every long-lived object of one running desktop."""

    def __init__(
        self,
        options: LaunchOptions,
        paths: AppPaths,
        settings: Settings,
        recent: RecentLog,
        window: MainWindow | None = None,
    ) -> None:
        """`window`: the main window already shown in its starting state (run_gui), else one is made here."""
        import asyncio

        from agentdesk.campaigns.resolver import CampaignResolver
        from agentdesk.config.operator import PinBook, role_of
        from agentdesk.desk import Desk, WrapUpPolicy
        from agentdesk.telephony.agent_state import AgentStateMachine
        from agentdesk.telephony.calls import CallTracker
        from agentdesk.telephony.intake import CallIntake
        from agentdesk.ui.agent_actions import AgentActions
        from agentdesk.ui.bridge import DeskSignals
        from agentdesk.ui.lock import InactivityLock
        from agentdesk.ui.main_window import MainWindow
        from agentdesk.ui.notifier import CallNotifier

        self.options = options
        self.paths = paths
        self.settings = settings
        self.recent = recent
        self.services = services.build(settings, paths)
        # The OS login is who did it, in every row; the config's agent.id only names this agent's phone.
        self.agent_id = self.services.agent_id
        self.role = role_of(self.agent_id, settings.security)
        self.pins = PinBook(paths.data_dir, settings.security.pin_min_length)
        from agentdesk.config.fingerprint import StartValues

        agent_name = _agent_name(StartValues.of(settings))  # the rule the starting frame's title used
        self.store = self.services.store
        self.decisions = self.services.decisions
        self.lookup = self.services.lookup
        self.desk = Desk(
            self.agent_id,
            CallTracker(
                settings.telephony.default_region,
                own_agent_ids=[
                    self.agent_id,
                    *([settings.agent.id] if settings.agent.id else []),
                    *settings.agent.phone_ids,
                    *_ami_interfaces(settings),
                ],
                ring_timeout_seconds=settings.telephony.ring_timeout_seconds,
            ),
            self.lookup,
            CampaignResolver((), settings.dispositions, settings.telephony.default_region),  # files: at start
            self.store,
            AgentStateMachine(settings.agent.not_ready_reasons),
            self.decisions,
            time_zone=settings.ui.time_zone,
            region=settings.telephony.default_region,
            wrapup=WrapUpPolicy(settings.ui.wrapup_required, settings.ui.wrapup_limit_seconds),
            agent_name=agent_name,
        )
        if window is None:
            title = _window_title(agent_name, options.demo)
            window = MainWindow(title, agent_name, settings.agent.not_ready_reasons, paths.ui_state, options.demo)
        elif not window.built:
            window.build(agent_name, settings.agent.not_ready_reasons, options.demo)
        self.window = window
        self.window.wrapup_limit_seconds = settings.ui.wrapup_limit_seconds
        self.signals = DeskSignals(self.desk, self.window)
        self.actions = AgentActions(self.desk, self.window, lambda: self.simulator)
        self.intake = CallIntake(self.desk.ingest)
        self.notifier = CallNotifier(
            self.window, enabled=settings.ui.tray_notifications, locked=lambda: self.window.is_locked
        )
        self.lock = InactivityLock(settings.ui.lock_after_minutes, self.window)
        self._unlocking: asyncio.Task[None] | None = None
        self.webhook: Any = None
        self.sync: Any = None
        self.write_back: Any = None
        self.call_sources: list[Any] = []
        self.backend_entries = settings.backends  # the demo points its own at the servers it starts
        self._housekeeping: asyncio.Task[None] | None = None
        self.simulator: Any = None
        self._demo_data: Any = None
        self._demo_showcase: str | None = None  # the demo's first caller (see demo/showcase.py)
        self._demo_server: Any = None
        self._finished: asyncio.Future[int] | None = None
        self.ready = asyncio.Event()
        self.stopped = False
        self.stopped_cleanly = False  # stop() ran to its end (the store closed, the note removed)
        self._connect()

    def _connect(self) -> None:
        from agentdesk.ui.coalesce import Coalesced

        window, signals = self.window, self.signals
        signals.call_changed.connect(window.show_call)
        signals.call_updated.connect(self.notifier.call_updated)
        signals.lookup_updated.connect(window.show_lookup)
        signals.lookup_updated.connect(self.notifier.lookup_updated)
        window.call_bar.call_chosen.connect(self.desk.focus)
        # What the desk shows is what the log must never say: the redaction learns each value as it arrives.
        shown = self.recent.shown
        self.desk.on.call.append(lambda context: _remember_call(shown, context))
        self.desk.on.lookup.append(lambda context: _remember_lookup(shown, context))

        def show_intake() -> None:  # at most once per frame, whatever the event rate
            window.show_event_counts(sum(self.intake.accepted.values()), dict(self.intake.rejected))
            window.show_clock_skew(self.intake.skewed_sources())

        self.intake.subscribe(Coalesced(show_intake, window).request)
        signals.agent_state_changed.connect(window.show_agent_state)
        signals.store_health.connect(window.show_store_health)
        self.lock.locked.connect(lambda: window.set_locked(True))
        window.unlock_requested.connect(self._unlock_requested)
        window.closing.connect(lambda: self.finish(0))
        window.monitor_requested.connect(self.open_monitor)
        self.actions.connect()
        window.show_agent_state(self.desk.agent_state.status)

    def open_monitor(self) -> bool:
        """Supervisors get the team monitor in a process of its own; anyone else is told why not. True = started."""
        from PySide6.QtCore import QProcess
        from PySide6.QtWidgets import QMessageBox

        from agentdesk.commands.gui import monitor_command
        from agentdesk.config.operator import os_login

        refusal = services.monitor_refusal(self.settings, os_login(), demo=self.options.demo)
        if refusal is None:
            program, *arguments = monitor_command(self.options)
            if QProcess.startDetached(program, arguments)[0]:
                log.info("team monitor started")
                return True
            refusal = "The team monitor could not be started; see the log."
            log.error("team monitor: could not start %s", program)
        box = QMessageBox(QMessageBox.Icon.Information, "Team monitor", refusal, parent=self.window)
        box.setObjectName("MonitorRefusal")
        box.open()  # not exec(): calls keep arriving while the message is up
        return False

    # -- the lock ---------------------------------------------------------------------------------------------
    def _unlock_mode(self) -> UnlockMode:
        from agentdesk.ui.lock_page import UnlockMode

        if self.pins.is_set:
            return UnlockMode.PIN
        return UnlockMode.CHOOSE if self.settings.security.require_pin else UnlockMode.CLICK

    def _unlock_requested(self, pin: str, repeat: str) -> None:
        import asyncio

        from agentdesk.ui.lock_page import UnlockMode

        mode = self._unlock_mode()
        if mode is UnlockMode.CLICK:
            self.window.set_locked(False)
            return
        task = asyncio.get_running_loop().create_task(self._unlock(mode, pin, repeat))
        self._unlocking = task  # kept referenced until done

    async def _unlock(self, mode: UnlockMode, pin: str, repeat: str) -> None:
        """Check (or, the first time, set) the PIN on a worker thread: argon2 takes tens of milliseconds."""
        import asyncio

        from agentdesk.config.operator import PinInvalid
        from agentdesk.ui.lock_page import UnlockMode

        page = self.window.lock_page
        if mode is UnlockMode.CHOOSE:
            if pin != repeat:
                page.show_error("The two PINs differ")
                return
            try:
                await asyncio.to_thread(self.pins.set, pin)
            except PinInvalid as exc:
                page.show_error(str(exc))
                return
        elif not await asyncio.to_thread(self.pins.verify, pin):
            log.warning("unlock refused: wrong PIN")
            page.show_error("Wrong PIN")
            return
        page.set_mode(self._unlock_mode(), self.settings.security.pin_min_length)
        self.window.set_locked(False)

    # -- lifecycle --------------------------------------------------------------------------------------------
    async def run(self, started: float) -> int:
        import asyncio

        self._finished = asyncio.get_running_loop().create_future()
        if self.window.closed_while_starting:  # the agent closed the frame before the desk was built: quit
            self.finish(0)
        elif not self.window.isVisible():  # run_gui shows the window before the settings exist; tests may not
            from agentdesk.ui.layout import read_layout

            self.window.restore_layout(await asyncio.to_thread(read_layout, self.paths.ui_state))
            self.window.show()
            await asyncio.sleep(0)  # one turn of the loop: the window is exposed and painted
            _mark_shown(started)
        try:
            await self.start()
        except Exception as exc:
            log.exception("startup failed")
            self.window.show_store_health(False, f"startup failed ({type(exc).__name__})")
            if self.options.smoke:
                return 1
        if self.options.smoke:
            await asyncio.sleep(0)  # one more turn of the loop: startup work done, the app is idle
            log.info("smoke: ready %.0f ms after launch", (time.perf_counter() - started) * 1000)
            self.finish(0)
        code = await self._finished
        await self.stop()
        return code

    async def start(self) -> None:
        """Background startup: nothing here runs on the GUI thread for long (I/O goes to worker threads)."""
        import asyncio

        from agentdesk.ui.garbage import GuiThreadCollector

        self.window.show_busy("Starting…")
        await asyncio.to_thread(self.pins.load)
        self.window.lock_page.set_mode(self._unlock_mode(), self.settings.security.pin_min_length)
        if self.settings.security.require_pin and not self.pins.is_set:
            self.window.set_locked(True)  # no patient data before this agent has a PIN
        store_opening = asyncio.ensure_future(self.services.open_store())
        from agentdesk.base.phone import warm_up

        phones_ready = asyncio.ensure_future(asyncio.to_thread(warm_up, self.settings.telephony.default_region))
        try:
            if self.options.demo:
                await self._start_demo()
            await self._start_campaigns()
            if self.options.demo:
                self._start_simulator()
            await self._start_backends()
            await phones_ready  # before the first call: its number is read on the GUI thread
            await self._start_telephony()
            try:
                await store_opening
                reopened = await self.desk.reopen_drafts()
                if self.store.moved_aside is not None:
                    # Nothing is lost: the old file is kept for IT; the agent can work on a fresh store now.
                    self.window.show_store_health(
                        False, f"started fresh: the old store could not be opened, kept as {self.store.moved_aside}"
                    )
                else:
                    self.window.show_store_health(
                        True, f"ready; {len(reopened)} unfinished wrap-up(s) reopened" if reopened else "ready"
                    )
                await self._start_central_sync()
                await self._start_write_back()
            except Exception as exc:
                log.exception("local store failed to open")
                self.window.show_store_health(False, f"cannot open ({type(exc).__name__})")
                raise
        finally:
            if not store_opening.done():
                store_opening.cancel()
            self.window.show_busy(None)
        self.ready.set()
        GuiThreadCollector.freeze_startup()
        if self.options.pop is not None:
            from agentdesk.telephony.events import pop_event

            pop = self.options.pop
            self.intake.accept(pop_event(pop.ani, pop.dnis, pop.campaign))

    async def _start_demo(self) -> None:
        import asyncio

        from agentdesk.demo.setup import demo_overrides, start_demo_systems
        from agentdesk.demo.showcase import showcase_phone

        demo = self.settings.demo
        self.window.show_busy("Preparing the synthetic demo population…")
        data, self._demo_server = await asyncio.to_thread(
            start_demo_systems, self.paths.demo_dir, demo.population, demo.seed
        )
        # The settings stay those read at start (the desk and the window were built from them); only the backends
        # change: the demo's, pointing at the server just started, unless a --config names its own.
        with_servers = load_app_settings(self.options, self.paths, demo_overrides(data, self._demo_server.base_url))
        self.backend_entries = with_servers.backends
        self._demo_data = data
        self._demo_showcase = await asyncio.to_thread(showcase_phone, data)
        log.info("demo ready: %d synthetic people", len(data.people))

    def _start_simulator(self) -> None:
        """The demo's phone: callers from the population, dialing the inbound campaigns' numbers."""
        from agentdesk.base.phone import normalise_phone
        from agentdesk.demo.showcase import SHOWCASE_CAMPAIGN
        from agentdesk.demo.simulator import CallSimulator

        demo, region = self.settings.demo, self.settings.telephony.default_region
        dialed = [
            normalise_phone(number, region) or number
            for campaign in self.desk.campaigns.campaigns
            if campaign.direction == "inbound"
            for number in campaign.match.dnis
        ]
        phones = self._demo_data.phones()
        showcase = next((c for c in self.desk.campaigns.campaigns if c.code == SHOWCASE_CAMPAIGN), None)
        first_dialed = normalise_phone(showcase.match.dnis[0], region) if showcase and showcase.match.dnis else ""
        first_call = (self._demo_showcase, first_dialed or "") if self._demo_showcase else None
        self.simulator = CallSimulator(
            self.intake.accept,
            phones,
            dialed,
            demo.answer_after_seconds,
            demo.seed,
            may_answer=self.desk.may_answer_by_itself,
            first_call=first_call,
        )
        self.desk.phone = self.simulator  # Answer, Hold and Hang up drive the demo's phone through the desk
        if demo.auto_call_seconds > 0:
            self.window.auto_call_seconds.setValue(int(demo.auto_call_seconds))
            self.window.auto_call_action.setChecked(True)  # starts the automatic caller through the slot
        from agentdesk.telephony.agent_state import AgentState

        # The demo's agent is signed in and ready: the first call is what a trial is about.
        self.desk.set_agent_state(AgentState.AVAILABLE)

    async def _start_campaigns(self) -> None:
        """Campaign files are read on a worker thread; a bad file is skipped and shown, never fatal."""
        import asyncio

        resolver = await asyncio.to_thread(services.build_campaign_resolver, self.settings)
        self.desk.campaigns = resolver
        self.window.show_campaigns_ready(resolver.campaigns, [f"{name}: {why}" for name, why in resolver.unavailable])

    async def _start_central_sync(self) -> None:
        """Local first: the central store gets what this desk saved, and this desk gets other desks' decisions."""
        import asyncio

        from agentdesk.config.credentials import CredentialMissing
        from agentdesk.store.sync import OutboxSync

        if not self.settings.store.central_url:
            return
        try:
            central = await asyncio.to_thread(services.open_central, self.settings)
        except CredentialMissing as exc:
            self.window.show_link("central store", "off", str(exc))
            return
        except Exception as exc:  # a malformed URL or a missing driver: say so, keep working locally
            self.window.show_link("central store", "off", f"cannot use the URL ({type(exc).__name__})")
            return

        if central.unverified:  # IT turned verification off: everyone should see it
            self.window.show_link("central store TLS", "not verified", central.unverified)
        self.sync = OutboxSync(
            self.store,
            central,
            self.desk.decided_elsewhere,
            on_status=self.window.show_sync,
        )
        self.window.sync_now_requested.connect(self.sync.sync_now)
        self.sync.start()

    async def _start_write_back(self) -> None:
        """Bookings and referrals to the FHIR backends with `write_back` (their HTTP on a thread of its own)."""
        import asyncio

        writer, problems = await asyncio.to_thread(
            services.build_write_back, self.settings, self.store, self._show_write_back
        )
        for problem in problems:
            self.window.show_link("write-back", "off", problem)
        if writer is not None:
            self.write_back = writer
            writer.start()

    def _show_write_back(self, result: Any) -> None:
        self.window.wrapup.show_write_back(result.call_id, (result.kind, result.backend), result.state, result.text)
        if result.state != "written":
            self.window.show_link(f"{result.backend} write-back", result.state, result.text)
        elif result.backend + " write-back" in self.window.links:
            self.window.show_link(f"{result.backend} write-back", "up", result.text)

    async def _start_telephony(self) -> None:
        """The webhook (and the single-instance file), the configured call sources, the ring-timeout sweep."""
        import asyncio
        import secrets

        from agentdesk.config.credentials import CredentialMissing, ensure_token
        from agentdesk.instance import new_secret, write_instance
        from agentdesk.telephony.sources.factory import build_call_source
        from agentdesk.telephony.sources.webhook import WebhookServer

        hooks = self.settings.webhook
        if hooks.enabled:
            try:
                local_only = ""
                try:
                    token = await asyncio.to_thread(ensure_token, hooks.token_credential)
                except CredentialMissing as exc:
                    # No keychain: a token for this run only, noted in the user-only instance file, so a second
                    # start and `agentdesk pop` still reach this desk; the phone system cannot (it needs a lasting
                    # token).
                    token, local_only = secrets.token_urlsafe(32), str(exc)
                secret = new_secret()
                self.webhook = WebhookServer(
                    self.intake,
                    token,
                    hooks.port,
                    hooks.max_body_bytes,
                    on_focus=self.notifier.bring_to_front,
                    instance_secret=secret,
                )
                await self.webhook.start()
                noted = token if local_only else ""
                await asyncio.to_thread(write_instance, self.paths.data_dir, self.webhook.port, secret, noted)
                if local_only:
                    self.window.show_link(
                        "webhook",
                        "local only",
                        f"{local_only}: the phone system cannot send events to this desk; a second start and "
                        "'agentdesk pop' still reach it. Fix: make an OS keychain available (e.g. Secret Service).",
                    )
                    log.warning("webhook local only: %s", local_only)
                else:
                    self.window.show_link("webhook", "up", f"127.0.0.1:{self.webhook.port}")
            except OSError as exc:
                self.webhook = None
                self.window.show_link("webhook", "off", f"port {hooks.port} unavailable ({exc.strerror})")
                log.warning("webhook off: port %d unavailable", hooks.port)
        for entry in self.settings.call_sources:
            if not entry.enabled:
                continue
            try:
                source = await asyncio.to_thread(build_call_source, entry, self.intake, self.window.show_link)
            except CredentialMissing as exc:
                self.window.show_link(entry.name, "off", str(exc))
                continue
            source.start()
            self.call_sources.append(source)
        self._housekeeping = asyncio.get_running_loop().create_task(self.desk.keep_house())

    async def _start_backends(self) -> None:
        problems = await self.services.connect_backends(self.backend_entries)
        self.window.show_sources_ready([b.name for b in self.lookup.backends], problems)
        for backend in self.lookup.backends:
            unverified = str(getattr(backend, "unverified", ""))
            if unverified:  # IT turned TLS verification off for this source: everyone should see it
                self.window.show_link(backend.name, "TLS not verified", unverified)

    def finish(self, code: int) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(code)

    def session_ending(self) -> None:
        """The user is logging off or Windows is shutting down (Qt's commitDataRequest): the typed draft is handed
        over and the clean stop begins; Windows waits for every application's answer before it ends the session,
        so the loop keeps running it meanwhile."""
        log.info("the session is ending: stopping cleanly")
        with contextlib.suppress(RuntimeError):
            self.window.wrapup.flush_draft()
        self.finish(0)

    def session_ended(self) -> None:
        """The session ends now (Windows' WM_ENDSESSION, seen as aboutToQuit): the process may be killed as soon as
        this returns, so what the clean stop has not done yet happens here, on this thread: the queued call
        events and audit rows are written and the instance note goes. Nothing to do after a finished stop."""
        from agentdesk.instance import remove_instance

        if self.stopped_cleanly:
            return
        written = self.store.write_now()
        remove_instance(self.paths.data_dir)
        log.info(
            "session ended before the clean stop finished: queued rows %s", "written" if written else "NOT all written"
        )

    async def stop(self) -> None:
        """Stop sources, servers and the store, in that order; safe to call twice."""
        import asyncio

        from agentdesk.instance import remove_instance

        if self.stopped:
            return
        self.stopped = True
        with contextlib.suppress(RuntimeError):  # what the agent typed in the last half second is kept too
            self.window.wrapup.flush_draft()
        if self.simulator is not None:
            self.simulator.stop()
        self.lock.stop()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        for source in self.call_sources:
            await source.stop()
        if self.webhook is not None:
            await self.webhook.stop()
            remove_instance(self.paths.data_dir)
        if self.sync is not None:
            await self.sync.stop()
        if self.write_back is not None:
            await self.write_back.stop()
        try:
            await asyncio.wait_for(self.desk.drain(), 5)
        except TimeoutError:
            log.warning("background work still running at exit")
        await self.services.close()
        if self._demo_server is not None:
            self._demo_server.stop()
        with contextlib.suppress(RuntimeError):  # the window may already be gone (closed and deleted)
            self.window.hide()
        if self.window.layout_saved is not None:  # closing the window started the write
            await asyncio.wrap_future(self.window.layout_saved)
        self.stopped_cleanly = True
        log.info("AgentDesk stopped")

    def loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, Exception):
            sys.excepthook(type(error), error, error.__traceback__)
        else:
            log.error("event loop: %s", context.get("message"))


def run_monitor(options: LaunchOptions, paths: AppPaths, settings: Settings) -> int:
    """`agentdesk --monitor`: the supervisor's team monitor in a window of its own. Reads run on the LiveFeed's
    threads; this thread only shows what they read."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from agentdesk.config.credentials import CredentialMissing
    from agentdesk.config.operator import os_login
    from agentdesk.metrics.definitions import MetricOptions
    from agentdesk.metrics.live import LiveFeed
    from agentdesk.store.central import CentralStoreError
    from agentdesk.store.opening import StoreUnusable
    from agentdesk.ui.garbage import GuiThreadCollector
    from agentdesk.ui.monitor_window import MonitorWindow
    from agentdesk.ui.qt_messages import route_qt_messages

    route_qt_messages()
    existing = QApplication.instance()
    qt_app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])

    def refuse(message: str, code: int) -> int:
        log.warning("team monitor not opened: %s", message)
        if options.smoke:
            print(message, file=sys.stderr)
        else:
            QMessageBox.warning(None, "AgentDesk team monitor", message)
        return code

    refusal = services.monitor_refusal(settings, os_login(), demo=options.demo)
    if refusal:
        return refuse(refusal, 3)
    agent_ids: list[str] | None = None
    if options.demo:
        from agentdesk.commands.simulate import demo_monitor_settings

        settings = demo_monitor_settings(settings, paths)  # a simulated team's day so far
    try:
        engine, where = services.metrics_engine(settings, paths)
    except (CredentialMissing, CentralStoreError, StoreUnusable) as exc:
        return refuse(f"The figures cannot be read: {exc}", 1)
    if where == "local store" and not options.demo:
        agent_ids = [services.agent_id(settings)]  # no central store: this desk's own figures only
    monitor = settings.monitor
    # As in the desk: the reader thread allocates most (a snapshot per change notification), so automatic
    # collection ran there, stopping every thread for a full scan (up to 70 ms with Qt and SQLAlchemy loaded: the
    # monitor's longest GUI-thread stalls) and risking Qt objects destroyed off the GUI thread. Made here, after
    # the refusals, so that a refused start leaves the collector as it found it.
    collector = GuiThreadCollector(qt_app)
    window = MonitorWindow(monitor)
    window.setWindowTitle(f"AgentDesk — Team monitor ({where}{', demo' if options.demo else ''})")
    feed = LiveFeed(
        engine,
        MetricOptions(monitor.short_abandon_seconds, monitor.service_level_seconds),
        window.bridge.snapshot.emit,
        window.bridge.health.emit,
        monitor.poll_seconds,
        agent_ids,
        service_lines=lambda: services.campaign_service_lines(settings),  # the files, read on the reader thread
    )
    window.period_changed.connect(feed.refresh_now)
    window.closed.connect(qt_app.quit)
    if options.smoke:  # CI: the first snapshot shown is the proof; a stuck read fails after 30 s
        shot = os.environ.get("AGENTDESK_MONITOR_SCREENSHOT", "")

        def shown(_: object) -> None:
            if shot:
                window.grab().save(shot)  # the README's picture (scripts/monitor_screenshot.sh)
            QTimer.singleShot(0, qt_app.quit)

        window.bridge.snapshot.connect(shown, Qt.ConnectionType.SingleShotConnection)
        QTimer.singleShot(30_000, lambda: qt_app.exit(1))
    GuiThreadCollector.freeze_startup()  # modules, window and engine: never rescanned
    feed.start()
    window.show()
    code = qt_app.exec()
    feed.stop()
    engine.dispose()
    collector.stop()
    return int(code)
