"""Where the startup time goes: import time by package, before the main window is shown and after it.

    python benchmarks/startup_profile.py [--runs 3]

Runs `agentdesk --demo --smoke` under `python -X importtime` with markers at the shown window and at the end of
the background startup, and sums each package's own import time (medians over the runs) before the first marker
(what the first paint waits for) and between the two (what the desk imports after it, until it is ready). The
first run (which generates the demo population and validates the config before the window) is not measured; the
others start with a config that validated at the last start, as an agent's desk does every day. Shares are what
to read on a shared, noisy machine; the absolute numbers move with the load.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

MARK = "=====AGENTDESK WINDOW SHOWN====="
READY = "=====AGENTDESK READY====="
CHILD = f"""
import sys
import agentdesk.app as app
shown = app._mark_shown
def marked(started):
    print({MARK!r}, file=sys.stderr, flush=True)
    shown(started)
app._mark_shown = marked
start = app.AgentDeskApp.start
async def started(self):
    await start(self)
    print({READY!r}, file=sys.stderr, flush=True)
app.AgentDeskApp.start = started
from agentdesk.cli import main
sys.exit(main(sys.argv[1:]))
"""
LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")


def profile_once(basedir: Path) -> tuple[collections.Counter[str], collections.Counter[str]]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    # Compiled modules, as on a workstation (pip and the frozen build ship them): with PYTHONDONTWRITEBYTECODE set
    # (some CI and sandbox shells set it) every start would compile AgentDesk's sources again and the bare window,
    # all in site-packages, would not.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CHILD, "--demo", "--smoke", "--basedir", str(basedir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    before: collections.Counter[str] = collections.Counter()
    after: collections.Counter[str] = collections.Counter()
    groups = before
    for line in result.stderr.splitlines():
        if MARK in line:
            groups = after
        if READY in line:
            break
        match = LINE.match(line)
        if match:
            parts = match.group(2).split(".")
            groups[".".join(parts[:2]) if parts[0] == "agentdesk" else parts[0]] += int(match.group(1))
    return before, after


def report(title: str, runs: list[collections.Counter[str]], top: int) -> None:
    total = statistics.median(sum(r.values()) for r in runs)
    medians = {name: statistics.median(r.get(name, 0) for r in runs) for name in set().union(*runs)}
    print(f"{title}: {total / 1000:.0f} ms of imports (median of {len(runs)})")
    for name, micros in sorted(medians.items(), key=lambda item: -item[1])[:top]:
        print(f"  {name:30} {micros / 1000:8.1f} ms {100 * micros / max(total, 1):5.1f}%")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    basedir = Path(tempfile.mkdtemp(prefix="agentdesk-profile-"))
    profile_once(basedir)  # the first demo start generates the population; not measured
    runs = [profile_once(basedir) for _ in range(args.runs)]
    report("before the main window is shown", [before for before, _after in runs], args.top)
    report("after it, until the desk is ready", [after for _before, after in runs], args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
