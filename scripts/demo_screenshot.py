"""Render the demo after a simulated call, for the README.

    python scripts/demo_screenshot.py --out docs/screenshot.png            # offscreen grab()
    scripts/xvfb-run-screenshot.sh docs/screenshot.png -- python scripts/demo_screenshot.py --hold

With --hold the window stays up after the profile fills and writes $AGENTDESK_READY_FILE, so a screenshot of
the whole (virtual) screen can be taken from outside.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from agentdesk.app import AgentDeskApp, load_app_settings
from agentdesk.commands.gui import LaunchOptions
from agentdesk.demo.population import write_demo_data
from agentdesk.logs import setup_logging
from agentdesk.paths import AppPaths


async def scenario(app: AgentDeskApp, out: Path | None, hold: bool, scale_note: str) -> None:
    if hold:  # a real screen with no window manager: fill it, so the shot of the screen is the window
        app.window.setGeometry(app.window.screen().availableGeometry())
    else:
        app.window.resize(1360, 820)
    app.window.show()
    await app.start()
    settings = app.settings
    data = write_demo_data(app.paths.demo_dir, settings.demo.population, settings.demo.seed)
    # A caller both systems know and on whose address they disagree: shows sources and a conflict badge.
    with sqlite3.connect(data.crm_file) as crm:
        crm_streets = dict(crm.execute("SELECT contact_id, street FROM crm_contacts").fetchall())
    facts = json.loads(data.related_file.read_text(encoding="utf-8"))
    caller = next(
        p
        for p in data.people
        if p.in_ehr
        and crm_streets.get(f"C-{p.key[1:]}", p.address_line) != p.address_line
        and p.email
        and facts[p.key]["touches"]
        and facts[p.key]["appointments"]
    )
    call_id = app.simulator.simulate_call(ani=caller.phone_e164, dnis="+18005550142")
    while not (app.desk.current and app.desk.current.lookup and app.desk.current.lookup.done):
        await asyncio.sleep(0.05)
    app.simulator.answer(call_id)
    await asyncio.sleep(1.2)
    # Mid-call: the script has greeted the caller, confirmed who they are, and is asking about risk factors.
    run = app.desk.current.script
    run.advance()
    run.answer("yes")
    run.answer("no")
    run.answer("Saw the TV spot")
    run.add_note("Asked whether the screening needs a fasting blood test")
    app.window.show_call(app.desk.current)
    app.window.script.focus_answer()
    app.window.wrapup.notes.setPlainText("Saw the heart health TV spot; wants a screening near Main campus.")
    if os.environ.get("AGENTDESK_SHOT_TAB") == "care":
        app.window.profile.tabs.setCurrentIndex(1)
    await asyncio.sleep(0.3)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        app.window.grab().save(str(out))
        print(f"wrote {out} {scale_note}")
    if hold:
        ready = os.environ.get("AGENTDESK_READY_FILE")
        if ready:
            Path(ready).write_text("ready\n")
        await asyncio.sleep(3600)
    await app.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    basedir = Path(tempfile.mkdtemp(prefix="agentdesk-shot-"))
    options = LaunchOptions(demo=True, basedir=basedir)
    paths = AppPaths.for_basedir(basedir)
    paths.create()
    qt_app = QApplication(sys.argv[:1])
    qt_app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    app = AgentDeskApp(options, paths, load_app_settings(options, paths), setup_logging(paths.log_dir))
    scale = os.environ.get("QT_SCALE_FACTOR", "1")
    with loop:
        loop.run_until_complete(scenario(app, args.out, args.hold, f"(scale {scale})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
