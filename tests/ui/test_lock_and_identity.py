"""The lock means locked (no patient data in notifications or widgets, a PIN to unlock when there is one), the OS
login is the identity in every row, and roles and the PIN rule come only from IT's machine-wide file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from agentdesk.app import AgentDeskApp, load_app_settings
from agentdesk.base.phone import display_phone
from agentdesk.commands.gui import LaunchOptions
from agentdesk.config import ConfigError, load_settings
from agentdesk.config.operator import PinBook, PinInvalid, Role, os_login, role_of
from agentdesk.logs import setup_logging
from agentdesk.paths import AppPaths
from agentdesk.ui.lock_page import UnlockMode
from tests.support import OPEN_APPS, make_app, name_of, single_callers, start_shown, wait_until


@pytest.mark.gui
def test_a_call_while_locked_shows_nothing_about_the_caller(qtbot, run_async, tmp_path: Path) -> None:
    caller = single_callers(tmp_path)[0]
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window

    async def scenario() -> None:
        await start_shown(app)
        app.simulator.simulate_call(ani=caller.phone_e164, dnis="+18005550142")
        await wait_until(lambda: window.profile.name_label.text() == name_of(caller), what="the pop")
        window.lock_action.trigger()  # the agent walks away (or the inactivity timer fires)
        assert window.is_locked
        # Cleared, not only hidden: nothing left for a screen reader or a grab of the window.
        assert window.profile.name_label.text() == "" and window.call_bar.caller_label.text() == ""
        assert caller.given_name not in window.script.text_label.text()
        app.notifier.shown.clear()
        second = next(p for p in single_callers(tmp_path)[1:] if p.phone_e164 != caller.phone_e164)
        call_id = app.simulator.simulate_call(ani=second.phone_e164, dnis="+18005550142")
        await wait_until(
            lambda: app.desk.contexts[call_id].lookup and app.desk.contexts[call_id].lookup.done, what="lookup"
        )
        await wait_until(lambda: app.notifier.shown, what="the notification")
        digits = second.phone_e164[-7:]
        for title, body in app.notifier.shown:
            text = f"{title} {body}"
            assert second.family_name not in text and second.given_name not in text
            assert digits not in text.replace("-", "").replace(" ", "")
            assert display_phone(second.phone_e164) not in text
        assert window.profile.name_label.text() == ""  # the new call did not fill the hidden panels either
        QTest.mouseClick(window.unlock_button, Qt.MouseButton.LeftButton)  # no PIN here: a click unlocks
        assert not window.is_locked
        assert window.profile.name_label.text() in (name_of(caller), name_of(second))
        await app.stop()

    run_async(scenario())


@pytest.mark.gui
def test_unlock_asks_for_the_pin_when_the_agent_has_one(qtbot, run_async, tmp_path: Path) -> None:
    PinBook(AppPaths.for_basedir(tmp_path).data_dir).set("246810")
    app = make_app(tmp_path, qtbot=qtbot)
    window = app.window
    page = window.lock_page

    async def scenario() -> None:
        await start_shown(app)
        assert page.mode is UnlockMode.PIN
        window.set_locked(True)
        QTest.mouseClick(window.unlock_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: page.error.text() == "Wrong PIN", what="an empty PIN refused")
        QTest.keyClicks(page.pin, "135791")
        QTest.keyClick(page.pin, Qt.Key.Key_Return)
        await wait_until(lambda: page.error.text() == "Wrong PIN" and page.button.isEnabled(), what="refused")
        assert window.is_locked
        QTest.keyClicks(page.pin, "246810")
        QTest.keyClick(page.pin, Qt.Key.Key_Return)
        await wait_until(lambda: not window.is_locked, what="unlocked with the right PIN")
        await app.stop()

    run_async(scenario())


def machine_app(basedir: Path, machine_text: str, user_text: str = "") -> AgentDeskApp:
    paths = AppPaths.for_basedir(basedir)
    paths.create()
    assert paths.machine_config is not None
    paths.machine_config.parent.mkdir(parents=True, exist_ok=True)
    paths.machine_config.write_text(machine_text, encoding="utf-8")
    if user_text:
        paths.user_config.write_text(user_text, encoding="utf-8")
    options = LaunchOptions(basedir=basedir)
    app = AgentDeskApp(options, paths, load_app_settings(options, paths), setup_logging(paths.log_dir))
    OPEN_APPS.append(app)
    return app


@pytest.mark.gui
def test_a_required_pin_is_chosen_before_any_patient_data_shows(qtbot, run_async, tmp_path: Path) -> None:
    app = machine_app(tmp_path, "[security]\nrequire_pin = true\npin_min_length = 6\n\n[webhook]\nport = 0\n")
    qtbot.addWidget(app.window)
    window, page = app.window, app.window.lock_page

    async def scenario() -> None:
        await start_shown(app)
        assert window.is_locked and page.mode is UnlockMode.CHOOSE
        QTest.keyClicks(page.pin, "1234")
        QTest.keyClicks(page.repeat, "1234")
        QTest.mouseClick(page.button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: "at least 6" in page.error.text(), what="a short PIN refused")
        QTest.keyClicks(page.pin, "864209")
        QTest.keyClicks(page.repeat, "864209")
        QTest.mouseClick(page.button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: not window.is_locked, what="unlocked once a PIN is chosen")
        assert page.mode is UnlockMode.PIN
        await app.stop()

    run_async(scenario())
    stored = (tmp_path / "data" / "pin.argon2").read_text()
    assert stored.startswith("$argon2id$") and "864209" not in stored
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "data" / "pin.argon2").stat().st_mode) == 0o600


@pytest.mark.gui
def test_rows_carry_the_os_login_not_the_configured_agent_id(qtbot, run_async, tmp_path: Path) -> None:
    caller = single_callers(tmp_path)[0]
    app = make_app(tmp_path, '[agent]\nid = "somebody-else"\n', qtbot=qtbot)

    async def scenario() -> None:
        await start_shown(app)
        call_id = app.simulator.simulate_call(ani=caller.phone_e164, dnis="+18005550142")
        await wait_until(lambda: app.window.profile.name_label.text() == name_of(caller), what="the pop")
        app.simulator.answer(call_id)
        app.simulator.hang_up(call_id)
        await wait_until(lambda: app.desk.contexts[call_id].call.ended_at is not None, what="hang-up")
        await app.desk.save_disposition(app.desk.contexts[call_id], "information_provided", "", "")
        await app.desk.drain()
        dispositions = await app.store.dispositions()
        audit = await app.store.audit_events()
        assert {row["agent_id"] for row in dispositions} == {os_login()}
        assert audit and {row["agent_id"] for row in audit} == {os_login()}
        await app.stop()

    run_async(scenario())


def test_os_login_ignores_the_environment() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from agentdesk.config.operator import os_login; print(os_login())"],
        capture_output=True,
        text=True,
        env={**os.environ, "USER": "mallory", "LOGNAME": "mallory", "USERNAME": "mallory"},
        timeout=30,
    )
    assert result.stdout.strip() == os_login() != "mallory"


def test_roles_and_the_pin_rule_come_only_from_the_machine_file(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[security]\nadmins = ["mallory"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="only the machine-wide config file may set this"):
        load_settings([user], machine=tmp_path / "machine.toml")
    machine = tmp_path / "machine.toml"
    machine.write_text('[security]\nsupervisors = ["Ana"]\nadmins = ["root-it"]\n', encoding="utf-8")
    security = load_settings([machine], machine=machine).security
    assert role_of("ana", security) is Role.SUPERVISOR and role_of("root-it", security) is Role.ADMIN
    assert role_of("mallory", security) is Role.AGENT


def test_a_pin_is_hashed_and_changing_it_needs_the_current_one(tmp_path: Path) -> None:
    book = PinBook(tmp_path, min_length=6)
    book.set("112358")
    with pytest.raises(PinInvalid, match="current PIN"):
        PinBook(tmp_path).set("999999")
    with pytest.raises(PinInvalid, match="at least 6"):
        PinBook(tmp_path).set("12", current="112358")
    fresh = PinBook(tmp_path)
    assert fresh.load() and fresh.verify("112358") and not fresh.verify("112359")
    (tmp_path / "pin.argon2").unlink()  # removed behind the running desk's back: its PIN still holds
    assert fresh.verify("112358")


def test_pin_set_asks_twice_and_refuses_mismatches_short_pins_and_a_wrong_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from agentdesk.cli import main

    data_dir = AppPaths.for_basedir(tmp_path).data_dir

    def pin_set(*lines: str) -> tuple[int, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))  # no terminal
        code = main(["pin", "set", "--basedir", str(tmp_path)])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    assert pin_set("135790", "135799") == (1, "the two PINs differ; nothing changed\n")
    assert not (data_dir / "pin.argon2").exists()
    code, said = pin_set("1357", "1357")
    assert code == 1 and "at least 6" in said and not (data_dir / "pin.argon2").exists()
    running = PinBook(data_dir)  # a desk started before the PIN existed
    code, said = pin_set("135790", "135790")
    assert code == 0 and "PIN set" in said and "135790" not in said
    assert "$argon2id$" in (data_dir / "pin.argon2").read_text(encoding="ascii")
    assert running.verify("135790")  # the unlock checks this PIN
    code, said = pin_set("000000", "246802", "246802")  # the current PIN first, and it is wrong
    assert code == 1 and "current PIN is wrong" in said
    assert pin_set("135790", "246802", "246802")[0] == 0
    assert running.verify("246802") and not running.verify("135790")  # taken at the running desk's next unlock
