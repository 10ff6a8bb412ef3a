"""Renders the README's desk screenshots offscreen with widget.grab(): idle, ringing with a known caller, on a call
with a second one waiting, wrap-up, search. Run from the repository root: QT_QPA_PLATFORM=offscreen python
scripts/desk_screenshots.py (needs the test extras: it builds the demo desk as the tests do)."""

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import keyring  # noqa: E402 (after the sys.path line)
import qasync  # noqa: E402 (after the sys.path line)
from PySide6.QtWidgets import QApplication  # noqa: E402 (after the sys.path line)
from tests.conftest import MemoryKeyring  # noqa: E402 (after the sys.path line)
from tests.support import make_app, wait_until  # noqa: E402 (after the sys.path line)

keyring.set_keyring(MemoryKeyring())  # a keychain, as on an agent's desktop

OUT = ROOT / "docs"
qapp = QApplication([])
loop = qasync.QEventLoop(qapp)
asyncio.set_event_loop(loop)
base = Path(tempfile.mkdtemp())


async def main() -> None:
    app = make_app(base, "[demo]\nanswer_after_seconds = 100\n")
    w = app.window
    w.resize(1280, 800)
    w.show()
    await app.start()
    await asyncio.sleep(0.5)

    def shot(name: str) -> None:
        qapp.processEvents()
        w.grab().save(str(OUT / name))

    shot("screenshot-idle.png")
    first = app.simulator.simulate_call()
    ctx = app.desk.contexts[first]
    await wait_until(lambda: ctx.lookup is not None and ctx.lookup.done and w.profile.shown_patient is not None)
    await asyncio.sleep(1.0)
    shot("screenshot-ringing.png")
    app.desk.answer(first)
    await wait_until(lambda: w.call_bar.state_label.text() == "On call")
    w.script.focus_answer()
    await asyncio.sleep(0.3)
    people = [p for p in app._demo_data.people if p.in_ehr]
    second = app.simulator.simulate_call(ani=people[5].phone_e164, dnis="+18005550144")
    await wait_until(lambda: w.call_bar.other_calls.isVisible())
    await asyncio.sleep(1.0)
    shot("screenshot.png")
    app.desk.hang_up(first)
    await wait_until(lambda: w.call_bar.state_label.text().startswith("Ended"))
    code = next((d.code for d in ctx.dispositions if d.code == "appointment_booked"), "information_provided")
    w.wrapup.disposition.setCurrentIndex(w.wrapup.disposition.findData(code))
    w.wrapup.notes.setPlainText("Booked a heart screening; asked about fasting. Daughter may call for her.")
    await asyncio.sleep(0.5)
    shot("screenshot-wrapup.png")
    w.wrapup.disposition.setCurrentIndex(w.wrapup.disposition.findData("information_provided"))
    w.wrapup.save_button.click()
    await wait_until(lambda: w.wrapup.feedback.text().startswith("Saved"))
    app.desk.hang_up(second)
    await asyncio.sleep(0.5)
    target = people[12]
    w.profile.search.setText(f"{target.family_name}, {target.given_name} {target.birth_date}")
    w.profile.search.returnPressed.emit()
    await wait_until(
        lambda: w.profile.shown_patient is not None and app.desk.current.manual and app.desk.current.lookup.done
    )
    await asyncio.sleep(1.0)
    shot("screenshot-search.png")
    await app.stop()


loop.run_until_complete(asyncio.wait_for(main(), 120))
